"""With ``serve --workers 2`` one ``/metrics`` scrape covers both workers: the per-request
counters (prometheus_client's multiprocess mode) and the hub's own families (merged snapshots),
whichever worker answers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.helpers import metric
from tests.infra import migrate
from tests.live import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def test_one_scrape_counts_every_workers_sockets_and_requests(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    migrate(url)
    folder = tmp_path / "prometheus"
    server = LiveServer(url, workers=2, log_path=tmp_path / "server.log", PROMETHEUS_MULTIPROC_DIR=str(folder))
    await asyncio.to_thread(server.start)
    try:
        sockets = [await websockets.connect(server.ws_url) for _ in range(8)]  # spread over both workers
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            for _ in range(20):
                assert (await http.get("/healthz")).status_code == 200
            deadline = time.monotonic() + 90  # a loaded machine starts two workers slowly
            while True:
                text = (await http.get("/metrics")).text
                connections = metric(text, "careconnect_hub_connections_total")
                requests = metric(text, "careconnect_requests_total")
                if connections == 8 and requests >= 20:
                    break
                assert time.monotonic() < deadline, (connections, requests, text[-2000:])
                await asyncio.sleep(0.5)
        pids = {path.stem for path in folder.glob("app-*.json")}
        assert len(pids) == 2, pids  # both workers wrote their share
        for sock in sockets:
            await sock.close()
    finally:
        await asyncio.to_thread(server.stop)
    assert "Traceback" not in (tmp_path / "server.log").read_text()
