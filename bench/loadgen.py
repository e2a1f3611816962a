"""The load generator: one asyncio process that drives one workload against one target.

    python -m bench.loadgen --target ws --url ws://127.0.0.1:9001/ws --workload broadcast \
        --members 200 --rate 50 --duration 10 --json-out out.json

The generator itself is the load tester's (``careconnect.loadtest``: the workloads and their
flags in ``workload``, connecting, pacing and counting in ``driver``, the light client in
``wsclient``); this adds the benchmark's targets (``bench.targets``: the hub and the peers),
the hub's /metrics window and the JSON result file. See ``careconnect.loadtest.workload`` for
the workloads and ``careconnect.loadtest.driver`` for how a delivery is timed and counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bench.targets import make_target
from careconnect.loadtest.driver import run, run_loop
from careconnect.loadtest.members import HubTarget
from careconnect.loadtest.stats import metrics_url
from careconnect.loadtest.workload import add_workload_arguments, workload_from_args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, choices=["ws", "litestar", "django", "socketio", "careconnect"])
    parser.add_argument(
        "--url",
        required=True,
        action="append",
        help="ws://127.0.0.1:PORT/ws (socket.io: ws://127.0.0.1:PORT); the hub takes it repeated or as a comma "
        "list: its members are spread round-robin over the URLs (hosts or workers of one deployment)",
    )
    parser.add_argument(
        "--metrics-url",
        action="append",
        help="the hub's /metrics (repeat it: each host's, summed); default: beside each --url",
    )
    add_workload_arguments(parser)
    parser.add_argument("--json-out", help="write the result here as well as to stdout")
    args = parser.parse_args(argv)
    args.url = [u for given in args.url for u in given.split(",") if u]
    if len(args.url) > 1 and args.target != "careconnect":
        parser.error("only the careconnect target takes several --url")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workload = workload_from_args(args)
    hub = args.target == "careconnect"
    target = make_target(args.target, args.url if hub else args.url[0], args.rooms_file)
    if workload.kind == "idle" and isinstance(target, HubTarget):
        target.wrap = True  # idle: many connections may share the rooms (nothing is sent)
    try:
        room_of = {target.room_name(r): r for r in range(workload.room_count())}
    except RuntimeError as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 2
    budget = workload.duration + workload.hold + workload.drain + workload.settle + 180
    try:
        result, _ = run_loop(
            asyncio.wait_for(
                run(
                    workload,
                    target,
                    room_of,
                    server_pid=args.server_pid,
                    metrics_url=(args.metrics_url or [metrics_url(u) for u in args.url]) if hub else None,
                ),
                budget,
            )
        )
    except TimeoutError:
        print(f"loadgen: gave up after {budget:.0f} s", file=sys.stderr)
        return 1
    if hub and isinstance(target, HubTarget) and len(target.urls) > 1:
        result["connections"]["per_url"] = dict(target.per_url)
    text = json.dumps(result, indent=2)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
