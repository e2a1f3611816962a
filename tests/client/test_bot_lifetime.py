"""Two bots with one-minute tokens chat for five minutes on a real two-worker server (PostgreSQL +
Redis) through two server restarts and a SIGKILLed worker: every message arrives once, in seq
order, and each bot asks for a token at most once per expiry."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from careconnect_client import HubClient
from tests.client.helpers import Collected
from tests.consult_helpers import open_visit
from tests.e2e.integrations import new_integration
from tests.infra import REDIS_URL, create_postgres_database, drop_postgres_database, migrate, need_postgres, need_redis
from tests.live import LiveServer

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(900)]

TOKEN_S = 60.0  # ACCESS_TOKEN_MINUTES=1
RUN_S = 300.0


class CountingProvider:
    """A bot's token provider (client credentials); remembers when it handed out each token."""

    def __init__(self, base_url: str, creds: dict[str, str]) -> None:
        self.base_url = base_url
        self.creds = creds
        self.handed_out: list[float] = []

    async def __call__(self) -> str:
        grant = {"grant_type": "client_credentials", **{k: self.creds[k] for k in ("client_id", "client_secret")}}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            answer = await http.post("/api/v1/auth/token", json=grant)
        answer.raise_for_status()  # while the server restarts: the client retries with backoff
        self.handed_out.append(time.monotonic())
        return str(answer.json()["access_token"])


def worker_serving(server: LiveServer, client_port: int) -> int:
    """The pid of the server worker holding the TCP connection from ``client_port``."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == client_port:
                inodes.add(fields[9])
    assert server.process is not None
    for pid in Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return int(pid)
    raise AssertionError(f"no worker holds the connection from port {client_port}")


async def test_bots_live_through_restarts_a_worker_kill_and_token_expiries(tmp_path: Path) -> None:
    need_postgres()
    need_redis()
    url, name = create_postgres_database()
    migrate(url)
    redis = REDIS_URL.rsplit("/", 1)[0] + "/6"
    server = LiveServer(
        url,
        redis_url=redis,
        log_path=tmp_path / "server.log",
        workers=2,
        ACCESS_TOKEN_MINUTES="1",
        WS_SEND_LIMIT="1000",
    )
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            doctor, _, aid = await open_visit(http)
            providers = []
            for bot in ("Scribe", "Triage"):
                creds = await new_integration(http, server, bot)
                invited = await http.post(
                    f"/api/v1/consultations/{aid}/participants",
                    json={"client_id": creds["client_id"]},
                    headers=doctor["h"],
                )
                assert invited.status_code == 201, invited.text
                providers.append(CountingProvider(server.url, creds))
        room = f"consultation:{aid}"
        writer_tokens, reader_tokens = providers
        started = time.monotonic()
        async with (
            HubClient(server.ws_url, token_provider=writer_tokens, backoff_cap=2.0) as writer,
            HubClient(server.ws_url, token_provider=reader_tokens, backoff_cap=2.0) as reader,
        ):
            seen = Collected(await reader.join(room))
            writing = await writer.join(room)
            acked: list[tuple[str, int]] = []
            stop = asyncio.Event()

            async def chat() -> None:
                i = 0
                while not stop.is_set():
                    client_id = f"scribe-{i}"
                    ack = await writing.send(f"note {i}", id=client_id, timeout=120)
                    acked.append((client_id, ack.seq))
                    i += 1
                    await asyncio.sleep(0.5)

            chatting = asyncio.create_task(chat())

            async def at(offset: float) -> None:
                await asyncio.sleep(max(0.0, started + offset - time.monotonic()))
                assert not chatting.done(), chatting.exception()

            await at(50)
            await asyncio.to_thread(server.stop)  # restart 1: the hub closes every socket with 1012
            await asyncio.to_thread(server.start)
            await at(130)
            await asyncio.to_thread(server.kill)  # restart 2: SIGKILL, no goodbye
            await asyncio.to_thread(server.start)
            await at(210)
            assert reader._ws is not None
            victim = worker_serving(server, reader._ws.local_address[1])
            os.kill(victim, signal.SIGKILL)  # one worker dies; its supervisor starts another
            await at(RUN_S)
            stop.set()
            await asyncio.wait_for(chatting, 120)
            messages = await seen.until(len(acked), timeout=60)
            await asyncio.sleep(1)  # anything doubled would be in by now
            elapsed = time.monotonic() - started

            assert [m.seq for m in messages] == list(range(1, len(acked) + 1)), "a gap, a duplicate or a reorder"
            assert [(m.id, m.seq) for m in messages] == acked, "an acked message was lost, doubled or moved"
            assert len(acked) > 300  # it kept chatting the whole time
            assert writer.reconnects >= 2 and reader.reconnects >= 3  # two restarts (and the reader's worker)
            # One token, then one per expiry at most (each renewed at half-life: a 60 s token at 30 s).
            most = 1 + int(elapsed // (TOKEN_S / 2)) + 1
            for provider in providers:
                assert 2 <= len(provider.handed_out) <= most, (len(provider.handed_out), most)
                gaps = [b - a for a, b in zip(provider.handed_out, provider.handed_out[1:], strict=False)]
                assert all(gap > 5 for gap in gaps), gaps  # never two calls for one expiry
            assert reader.stats.bad_frames == 0 and writer.unacked == 0
        seen.stop()
    finally:
        server.stop()
        drop_postgres_database(name)
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]
