"""PostgreSQL restarts mid-chat: sends are refused (never acked) until it is back, then resent."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid

import httpx
import pytest

from careconnect.client import HubClient
from tests.client.helpers import Collected
from tests.e2e.test_two_workers import open_visit
from tests.infra import create_postgres_database, drop_postgres_database, migrate, need, need_postgres
from tests.live import LiveServer

pytestmark = pytest.mark.slow
HAVE_CLUSTER = os.path.isdir("/etc/postgresql")


def restart_postgres() -> None:
    version = os.listdir("/etc/postgresql")[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        capture_output=True,
        timeout=120,
    )


async def test_postgres_restart_mid_chat(tmp_path):
    need_postgres()
    need("pg_ctlcluster", HAVE_CLUSTER and os.geteuid() == 0, "needs root and a local cluster")
    url, name = create_postgres_database()
    migrate(url)
    server = LiveServer(url, log_path=tmp_path / "server.log", WS_SEND_LIMIT="1000").start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            doctor, patient, aid = await open_visit(http)
            room = f"consultation:{aid}"
            pat = HubClient(server.ws_url, patient["token"])
            doc = HubClient(server.ws_url, doctor["token"])
            await pat.connect()
            await doc.connect()
            pat_seen = Collected(await pat.join(room))
            doc_seen = Collected(await doc.join(room))
            acked = [(await pat.send(room, f"before {i}", id=uuid.uuid4().hex)).seq for i in range(5)]
            restarting = asyncio.create_task(asyncio.to_thread(restart_postgres))
            sends = [
                asyncio.create_task(doc.send(room, f"during {i}", id=uuid.uuid4().hex, timeout=90)) for i in range(5)
            ]
            statuses = set()
            while not restarting.done():
                response = await http.get("/readyz")
                statuses.add(response.status_code)
                await asyncio.sleep(0.05)
            await restarting
            acked += [(await s).seq for s in sends]
            acked += [(await pat.send(room, f"after {i}", id=uuid.uuid4().hex, timeout=60)).seq for i in range(5)]
            assert sorted(acked) == list(range(1, 16)), acked
            for seen in (pat_seen, doc_seen):
                assert [m.seq for m in await seen.until(15)] == list(range(1, 16))
            assert statuses <= {200, 503}
            assert (await http.get("/readyz")).status_code == 200
            assert (await http.get("/api/v1/users/me", headers=patient["h"])).status_code == 200
            await pat.close()
            await doc.close()
    finally:
        server.stop()
        drop_postgres_database(name)
    log = (tmp_path / "server.log").read_text()
    # asyncpg's own pool logs a warning with a traceback while the server is down; ours log none.
    assert log.count("Traceback") == log.count("Failed to restore the pool connection floor"), log[-3000:]
    assert " ERROR careconnect" not in log
