"""The command line every peer shares: ``python -m bench.peers.<name> --port P``."""

from __future__ import annotations

import argparse
import os

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument(
        "--ws",
        default="auto",
        help="uvicorn's WebSocket implementation (auto = websockets-sansio, what a user gets by default)",
    )
    return parser.parse_args()


def serve_asgi(app: object, args: argparse.Namespace) -> None:
    """One uvicorn worker, no access log: the same ASGI server for every ASGI peer."""
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, ws=args.ws, log_level="warning", access_log=False, workers=None)
