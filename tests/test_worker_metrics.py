"""With ``serve --workers 2`` one ``/metrics`` scrape covers both workers: the per-request
counters (prometheus_client's multiprocess mode) and the hub's own families (merged snapshots),
whichever worker answers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.helpers import metric
from tests.infra import migrate
from tests.live import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.cluster, pytest.mark.timeout(300)]  # two workers: make test-cluster


def _connections_per_worker(folder: Path) -> dict[str, float]:
    """Each worker's own socket count, read from the snapshot it writes every 2 s."""
    out: dict[str, float] = {}
    for path in folder.glob("app-*.json"):
        try:
            families = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced: the next read has it
        out[path.stem] = sum(
            value
            for family in families
            if family["name"] == "careconnect_hub_connections"
            for name, _, value in family["samples"]
            if name == "careconnect_hub_connections_total"
        )
    return out


async def test_one_scrape_counts_every_workers_sockets_and_requests(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    migrate(url)
    folder = tmp_path / "prometheus"
    server = LiveServer(url, workers=2, log_path=tmp_path / "server.log", PROMETHEUS_MULTIPROC_DIR=str(folder))
    await asyncio.to_thread(server.start)
    sockets: list[websockets.ClientConnection] = []
    try:
        deadline = time.monotonic() + 90  # a loaded machine starts two workers slowly
        while len(_connections_per_worker(folder)) < 2:
            assert time.monotonic() < deadline, "the second worker never wrote its snapshot"
            await asyncio.sleep(0.2)
        # The kernel hands a new socket to either worker, not necessarily in turn: connect until
        # both hold some, so the scrape has two workers' sockets to add up.
        while True:
            sockets.append(await websockets.connect(server.ws_url))
            await asyncio.sleep(0.05)
            per_worker = _connections_per_worker(folder)
            if len(sockets) >= 8 and all(count > 0 for count in per_worker.values()):
                break
            assert len(sockets) < 200 and time.monotonic() < deadline, per_worker
            if len(sockets) >= 8:
                await asyncio.sleep(0.5)  # snapshots are 2 s apart
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            for _ in range(20):
                assert (await http.get("/healthz")).status_code == 200
            while True:
                text = (await http.get("/metrics")).text
                connections = metric(text, "careconnect_hub_connections_total")
                requests = metric(text, "careconnect_requests_total")
                if connections == len(sockets) and requests >= 20:
                    break
                assert time.monotonic() < deadline, (connections, len(sockets), requests, text[-2000:])
                await asyncio.sleep(0.5)
        per_worker = _connections_per_worker(folder)
        assert len(per_worker) == 2 and all(count > 0 for count in per_worker.values()), per_worker
    finally:
        for sock in sockets:
            await sock.close()
        await asyncio.to_thread(server.stop)
    assert "Traceback" not in (tmp_path / "server.log").read_text()
