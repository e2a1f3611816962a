"""Many hosts as one (issue 22): two hosts (network namespaces, ``--workers 2`` each) behind
HAProxy, sharing PostgreSQL and Redis. One host is killed mid-chat (every worker at once): its
clients reconnect through HAProxy to the other, re-join with ``since``, and nothing acked is
lost or doubled; the dead host's users drop out of presence within 30 s; the booking mail,
raced for by both hosts' outbox workers, is sent once."""

from __future__ import annotations

import asyncio
import email
import json
import os
import time
import uuid
from pathlib import Path

import httpx
import pytest
import websockets

from careconnect.client import HubClient
from tests.client.helpers import Collected
from tests.conftest import TEST_SECRET
from tests.consult_helpers import book, open_visit
from tests.e2e.integrations import bot_token, new_integration
from tests.e2e.test_hub_edge import hub_socket
from tests.helpers import signed_in
from tests.hosts import two_hosts
from tests.infra import REDIS_URL, create_postgres_database, drop_postgres_database, migrate, need_postgres, need_redis

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(300)]

PER_CLIENT = 40


class Direct:
    """What ``create-admin`` needs of a server: the environment that reaches its database."""

    def __init__(self, database_url: str) -> None:
        self.env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "CARECONNECT_ENV": "test"}


async def test_a_host_dies_mid_chat_and_its_clients_carry_on_through_the_balancer(tmp_path: Path) -> None:
    need_postgres()
    need_redis()
    direct, name = create_postgres_database()
    redis_db = 7
    try:
        migrate(direct)
        # A short outbox lease: a mail the killed host had claimed but not yet sent is the other
        # host's 10 s later, inside the test (the default is 120 s).
        short_lease = {
            "OUTBOX_LEASE_S": "10",
            "SMTP_CONNECT_TIMEOUT_S": "2",
            "SMTP_TIMEOUT_S": "3",
            "OUTBOX_POLL_S": "1",
        }
        with two_hosts(
            name, redis_db, tmp_path, WS_SEND_LIMIT="1000", WS_USER_SEND_LIMIT="5000", **short_lease
        ) as topology:
            first, second = topology.hosts
            async with httpx.AsyncClient(base_url=topology.url, timeout=30) as http:
                doctor, patient, aid = await open_visit(http)
                room = f"consultation:{aid}"
                # A witness whose only socket is on the first host and never reconnects (a bot),
                # and an observer on the second host that watches the presence.
                creds = await new_integration(http, Direct(direct), "Witness")  # type: ignore[arg-type]
                invited = await http.post(
                    f"/api/v1/consultations/{aid}/participants",
                    json={"client_id": creds["client_id"]},
                    headers=doctor["h"],
                )
                assert invited.status_code == 201, invited.text
                witness_token = await bot_token(http, creds)
                # A booking that stays booked: its mails (to both sides) are raced for by four
                # outbox workers on two hosts.
                _, other = await signed_in(http, "patient")
                await book(http, doctor["id"], other, reason="A second opinion")
            witness = await hub_socket(first.ws_url, witness_token, room)
            observer = await hub_socket(second.ws_url, doctor["token"], room)

            # Through the balancer, round robin: one chat client lands on each host.
            pat = HubClient(topology.ws_url, patient["token"], backoff_cap=0.5)
            doc = HubClient(topology.ws_url, doctor["token"], backoff_cap=0.5)
            await pat.connect()
            await doc.connect()
            pat_seen = Collected(await pat.join(room))
            doc_seen = Collected(await doc.join(room))
            sent: list[str] = []

            async def chat(client: HubClient, who: str) -> None:
                for i in range(PER_CLIENT):
                    client_id = f"{who}-{i}-{uuid.uuid4().hex[:6]}"
                    sent.append(client_id)
                    await client.send(room, f"{who} says {i}", id=client_id, timeout=90)
                    await asyncio.sleep(0.03)

            chatting = asyncio.gather(chat(pat, "patient"), chat(doc, "doctor"))
            await asyncio.sleep(0.6)
            first.kill()
            killed_at = time.monotonic()
            await asyncio.wait_for(chatting, 120)
            assert pat.reconnects + doc.reconnects >= 1, "neither chat client was on the killed host"

            total = 2 * PER_CLIENT
            for seen in (pat_seen, doc_seen):
                await seen.until(total)
                messages = [m for m in seen.messages if m.kind == "text"]
                assert sorted(m.id for m in messages) == sorted(sent), "an acked message was lost or doubled"
                seqs = [m.seq for m in seen.messages]
                assert seqs == sorted(set(seqs)), "a duplicate or a reorder"

            # The witness's presence clears on the surviving host within 30 s of the kill.
            gone = None
            async with asyncio.timeout(35):
                while gone is None:
                    frame = json.loads(await observer.recv())
                    if frame["type"] == "presence" and frame["user"]["role"] == "bot" and not frame["online"]:
                        gone = time.monotonic() - killed_at
            assert gone <= 30, gone
            with pytest.raises(websockets.ConnectionClosed):  # its host is gone: the socket too
                async with asyncio.timeout(10):
                    while True:
                        await witness.recv()  # what it had been sent before, then the end
            await observer.close()
            await pat.close()
            await doc.close()

            async with httpx.AsyncClient(base_url=topology.url, timeout=30) as http:
                stored = await http.get(
                    f"/api/v1/consultations/{aid}/messages", params={"after_seq": 0, "limit": 200}, headers=patient["h"]
                )
            items = [m for m in stored.json()["items"] if m.get("kind", "text") == "text"]
            assert sorted(m["id"] for m in items) == sorted(sent)

            # Each mail the visit caused went out once, whichever host's outbox worker took it
            # (one the killed host had claimed goes out from the other when its lease lapses).
            def mail_ids() -> list[str]:
                return [
                    email.message_from_bytes(path.read_bytes())["Message-ID"]
                    for host in topology.hosts
                    for path in (host.folder / "mail").rglob("*.eml")
                ]

            for _ in range(80):  # 40 s: the files appear on disk, nothing to await
                if len(ids := mail_ids()) >= 2:
                    break
                await asyncio.sleep(0.5)
            assert len(ids) >= 2 and len(ids) == len(set(ids)), ids
            logs = second.log_text()
        assert "Traceback" not in logs, logs[-3000:]
    finally:
        drop_postgres_database(name)
        try:
            import redis

            redis.Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + f"/{redis_db}").flushdb()
        except Exception:  # noqa: BLE001, S110 - best effort: the Redis database is the test's own
            pass
