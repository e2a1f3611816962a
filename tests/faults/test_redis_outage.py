"""Redis dies and comes back mid-chat: cross-worker delivery pauses, nothing stored is lost."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid

import httpx
import pytest

from careconnect.client import HubClient
from tests.client.helpers import Collected
from tests.e2e.test_two_workers import open_visit
from tests.infra import create_postgres_database, drop_postgres_database, migrate, need, need_postgres
from tests.live import LiveServer, free_port

pytestmark = pytest.mark.slow


class PrivateRedis:
    """A redis-server of this test's own, so stopping it disturbs nothing else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if (
                subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout.strip()
                == b"PONG"
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def kill(self) -> None:
        if self.process:
            self.process.kill()
            self.process.wait(10)


async def test_redis_restart_mid_chat_loses_nothing(tmp_path):
    need_postgres()
    need("redis-server", shutil.which("redis-server") is not None, "apt-get install redis-server")
    redis = PrivateRedis()
    redis.start()
    url, name = create_postgres_database()
    migrate(url)
    redis_url = f"redis://127.0.0.1:{redis.port}/0"
    one = LiveServer(url, redis_url=redis_url, log_path=tmp_path / "one.log", WS_SEND_LIMIT="1000").start()
    two = LiveServer(url, redis_url=redis_url, log_path=tmp_path / "two.log", WS_SEND_LIMIT="1000").start()
    try:
        async with httpx.AsyncClient(base_url=one.url, timeout=20) as http:
            doctor, patient, aid = await open_visit(http)
        room = f"consultation:{aid}"
        pat = HubClient(one.ws_url, patient["token"])
        doc = HubClient(two.ws_url, doctor["token"])
        await pat.connect()
        await doc.connect()
        pat_seen = Collected(await pat.join(room))
        doc_seen = Collected(await doc.join(room))
        acked = []
        for i in range(10):
            acked.append((await pat.send(room, f"before {i}", id=uuid.uuid4().hex)).seq)
        redis.kill()
        for i in range(10):  # still stored and acked while Redis is down
            acked.append((await doc.send(room, f"during {i}", id=uuid.uuid4().hex)).seq)
        await asyncio.sleep(1)
        redis.start()  # same port: the brokers reconnect and catch their rooms up from the store
        await pat_seen.until(20)
        await doc_seen.until(20)
        for i in range(5):
            acked.append((await pat.send(room, f"after {i}", id=uuid.uuid4().hex)).seq)
        await doc_seen.until(25)
        await pat_seen.until(25)
        await asyncio.sleep(0.3)  # anything doubled would be in by now
        assert acked == list(range(1, 26))
        for seen in (pat_seen, doc_seen):
            assert [m.seq for m in seen.messages] == list(range(1, 26))
        assert pat.stats.duplicates_dropped == 0 and doc.stats.duplicates_dropped == 0
        await pat.close()
        await doc.close()
    finally:
        one.stop()
        two.stop()
        redis.kill()
        drop_postgres_database(name)
