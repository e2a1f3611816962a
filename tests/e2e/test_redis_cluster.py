"""Past one Redis (issue 22): two workers on a Redis Cluster (three primaries, three replicas,
Debian's redis-server) with ``REDIS_CLUSTER=true``: rooms' channels are sharded pub/sub
(``SSUBSCRIBE``/``SPUBLISH``) on the shard of their hash slot, presence and the throttles are
keys on their own slots. The primary that owns the room's channel is killed mid-chat: its
replica takes over, the workers re-subscribe and catch up from the store, and nothing acked is
lost or doubled."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from careconnect.client import HubClient
from careconnect_client import Presence
from tests.client.helpers import Collected, next_of
from tests.consult_helpers import open_visit
from tests.infra import create_postgres_database, drop_postgres_database, migrate, need_postgres
from tests.live import LiveServer
from tests.redis_cluster import redis_cluster

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(240)]

PER_CLIENT = 40


async def test_a_chat_across_workers_survives_the_failover_of_its_shard(tmp_path: Path) -> None:
    need_postgres()
    url, name = create_postgres_database()
    try:
        migrate(url)
        with redis_cluster() as cluster:
            env = {"REDIS_CLUSTER": "true", "WS_SEND_LIMIT": "1000", "WS_USER_SEND_LIMIT": "5000"}
            one = LiveServer(url, redis_url=cluster.url, log_path=tmp_path / "one.log", **env).start()
            two = LiveServer(url, redis_url=cluster.url, log_path=tmp_path / "two.log", **env).start()
            try:
                async with httpx.AsyncClient(base_url=one.url, timeout=30) as http:
                    doctor, patient, aid = await open_visit(http)  # sign-in throttles count on the cluster
                room = f"consultation:{aid}"
                pat = HubClient(one.ws_url, patient["token"], backoff_cap=0.5)
                doc = HubClient(two.ws_url, doctor["token"], backoff_cap=0.5)
                await pat.connect()
                await doc.connect()
                pat_seen = Collected(await pat.join(room))
                doc_seen = Collected(await doc.join(room))
                presence = await next_of(pat, Presence, timeout=20)  # across workers, through the cluster
                assert presence.user.id == doctor["id"] and presence.online is True
                sent: list[str] = []

                async def chat(client: HubClient, who: str, count: int, pause: float) -> None:
                    for i in range(count):
                        client_id = f"{who}-{i}-{uuid.uuid4().hex[:6]}"
                        sent.append(client_id)
                        await client.send(room, f"{who} says {i}", id=client_id, timeout=90)
                        await asyncio.sleep(pause)

                # Chatting while the shard fails over, then on the promoted replica.
                chatting = asyncio.gather(chat(pat, "patient", PER_CLIENT, 0.1), chat(doc, "doctor", PER_CLIENT, 0.1))
                await asyncio.sleep(0.5)
                primary = cluster.primary_of(f"cc:room:{room}")
                cluster.kill(primary)  # the shard of this room's channel loses its primary
                await asyncio.to_thread(cluster.wait_failover, f"cc:room:{room}", primary)  # its replica takes over
                await asyncio.wait_for(chatting, 120)
                await asyncio.gather(chat(pat, "patient-after", 10, 0.02), chat(doc, "doctor-after", 10, 0.02))

                total = 2 * PER_CLIENT + 20
                for seen in (pat_seen, doc_seen):
                    await seen.until(total, timeout=60)
                    assert sorted(m.id for m in seen.messages) == sorted(sent), "an acked message was lost or doubled"
                    assert [m.seq for m in seen.messages] == list(range(1, total + 1)), (
                        "a gap, a duplicate or a reorder"
                    )
                await pat.close()
                await doc.close()
            finally:
                one.stop()
                two.stop()
    finally:
        drop_postgres_database(name)
    logs = [(tmp_path / log).read_text() for log in ("one.log", "two.log")]
    for text in logs:
        assert "Traceback" not in text, text[-3000:]
    assert any("connection lost" in text for text in logs), "no worker noticed the failover"


def test_redis_cluster_needs_a_node_to_start_from() -> None:
    from careconnect.settings import SettingsError, load_settings

    assert load_settings({}).redis_cluster is False
    assert load_settings({"REDIS_URL": "redis://127.0.0.1:7000/0", "REDIS_CLUSTER": "true"}).redis_cluster is True
    with pytest.raises(SettingsError, match="REDIS_CLUSTER"):
        load_settings({"REDIS_CLUSTER": "true"})


async def test_the_sign_in_throttles_count_on_the_cluster_and_close_their_connections() -> None:
    from careconnect.domain.accounts.throttle import throttle_storage
    from tests.redis_cluster import cli

    def connections(cluster_ports: list[int]) -> int:
        # Every node's clients but the one asking (redis-cli itself).
        return sum(max(0, len(cli(p, "client", "list").splitlines()) - 1) for p in cluster_ports)

    with redis_cluster() as cluster:
        idle = connections(cluster.ports)
        storage, close = throttle_storage(cluster.url, cluster=True)
        for key in ("login:a@example.org", "login:b@example.org", "address:203.0.113.7"):
            assert await storage.incr(key, 60) == 1  # keys on different slots: the cluster routes them
            assert await storage.incr(key, 60) == 2
        assert connections(cluster.ports) > idle
        await close()
        assert connections(cluster.ports) == idle
