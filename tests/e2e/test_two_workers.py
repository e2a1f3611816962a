"""Two server processes sharing PostgreSQL and Redis; one is SIGKILLed mid-chat."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from careconnect.client import HubClient, Presence
from tests.client.helpers import Collected, next_of
from tests.consult_helpers import open_visit
from tests.infra import REDIS_URL, create_postgres_database, drop_postgres_database, migrate, need_postgres, need_redis
from tests.live import LiveServer

# Several servers at once: `make test-cluster` (keeps `make test` inside its 20 minutes).
pytestmark = [pytest.mark.slow, pytest.mark.cluster]


async def test_two_workers_share_a_room_and_survive_a_sigkill(tmp_path):
    need_postgres()
    need_redis()
    url, name = create_postgres_database()
    redis = REDIS_URL.rsplit("/", 1)[0] + "/5"
    migrate(url)
    one = LiveServer(url, redis_url=redis, log_path=tmp_path / "one.log", WS_SEND_LIMIT="1000").start()
    two = LiveServer(url, redis_url=redis, log_path=tmp_path / "two.log", WS_SEND_LIMIT="1000").start()
    try:
        async with httpx.AsyncClient(base_url=one.url, timeout=20) as http:
            doctor, patient, aid = await open_visit(http)
        room = f"consultation:{aid}"
        pat = HubClient([one.ws_url, two.ws_url], patient["token"], backoff_cap=0.5)
        doc = HubClient([two.ws_url, one.ws_url], doctor["token"], backoff_cap=0.5)
        await pat.connect()
        await doc.connect()
        pat_seen = Collected(await pat.join(room))
        doc_seen = Collected(await doc.join(room))
        presence = await next_of(pat, Presence)
        assert presence.user.id == doctor["id"] and presence.online is True

        sent: list[str] = []

        async def chat(client: HubClient, who: str, count: int) -> None:
            for i in range(count):
                client_id = f"{who}-{i}-{uuid.uuid4().hex[:6]}"
                sent.append(client_id)
                await client.send(room, f"{who} says {i}", id=client_id, timeout=60)
                await asyncio.sleep(0.02)

        chatting = asyncio.gather(chat(pat, "patient", 40), chat(doc, "doctor", 40))
        await asyncio.sleep(0.4)
        one.kill()  # SIGKILL the patient's worker mid-chat
        try:
            await asyncio.wait_for(chatting, 60)
        except TimeoutError:
            raise AssertionError(
                f"sends never acked: patient unacked={pat.unacked} reconnects={pat.reconnects} url={pat.url} "
                f"closed={pat.close_code} doctor unacked={doc.unacked} reconnects={doc.reconnects}"
            ) from None
        assert pat.reconnects >= 1 and pat.url == two.ws_url

        for seen in (pat_seen, doc_seen):
            messages = await seen.until(80)
            await asyncio.sleep(0.3)  # anything doubled would be in by now
            assert [m.seq for m in messages] == list(range(1, 81)), "a gap, a duplicate or a reorder"
            assert sorted(m.id for m in messages) == sorted(sent), "an acked message was lost or doubled"
        async with httpx.AsyncClient(base_url=two.url, timeout=20) as http:
            stored = (
                await http.get(
                    f"/api/v1/consultations/{aid}/messages", params={"after_seq": 0, "limit": 200}, headers=patient["h"]
                )
            ).json()
        assert [m["seq"] for m in stored["items"]] == list(range(1, 81))
        await pat.close()
        await doc.close()
    finally:
        one.stop()
        two.stop()
        drop_postgres_database(name)
    for log in ("one.log", "two.log"):
        text = (tmp_path / log).read_text()
        assert "Traceback" not in text, text[-2000:]
