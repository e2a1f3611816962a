"""Past PostgreSQL's connection limit (issue 22): the app through Debian's PgBouncer in
transaction mode, with ``DATABASE_POOL_MODE=transaction`` (asyncpg keeps no prepared
statements). Two workers' pools (the ORM's and the message store's writers, kept connections)
share three server connections; the whole visit works and every acked message is stored once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.consult_helpers import open_visit
from tests.e2e.test_hub_edge import hub_socket, send_many
from tests.infra import POSTGRES_ADMIN_URL, create_postgres_database, drop_postgres_database, migrate, need_postgres
from tests.live import LiveServer
from tests.pgbouncer import pgbouncer

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(240)]

SERVER_CONNECTIONS = 3
PER_SOCKET = 40


async def test_a_visit_through_pgbouncer_in_transaction_mode(tmp_path: Path) -> None:
    need_postgres()
    direct, name = create_postgres_database()
    try:
        migrate(direct)  # migrations connect to PostgreSQL itself, as operators run them
        with pgbouncer(POSTGRES_ADMIN_URL, [name], pool_size=SERVER_CONNECTIONS) as bouncer:
            server = LiveServer(
                bouncer.url(name),
                workers=2,
                log_path=tmp_path / "server.log",
                DATABASE_POOL_MODE="transaction",
                WS_SEND_LIMIT="1000",  # the burst is the point here, not the hub's limits
                WS_USER_SEND_LIMIT="5000",
            ).start()
            try:
                await _visit(server)
                servers = [line for line in bouncer.show("SERVERS").splitlines() if f"|{name}|" in line]
                clients = [line for line in bouncer.show("CLIENTS").splitlines() if f"|{name}|" in line]
            finally:
                server.stop()
            log = (tmp_path / "server.log").read_text()
            assert "Traceback" not in log and "prepared statement" not in log, log[-4000:]
            assert 1 <= len(servers) <= SERVER_CONNECTIONS, servers
            assert len(clients) > SERVER_CONNECTIONS, clients  # many app connections, few server ones
            assert "prepared statement" not in bouncer.log_text()
    finally:
        drop_postgres_database(name)


async def _visit(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        doctor, patient, aid = await open_visit(http)  # sign-ups, availability, booking, check-in, start
        room = f"consultation:{aid}"
        sockets = [await hub_socket(server.ws_url, who["token"], room) for who in (doctor, patient, doctor, patient)]
        try:
            answers = await asyncio.gather(*(send_many(ws, room, PER_SOCKET, f"s{i}") for i, ws in enumerate(sockets)))
        finally:
            for ws in sockets:
                await ws.close()
        assert all(a == Counter(ack=PER_SOCKET) for a in answers), answers
        notes = await http.put(
            f"/api/v1/consultations/{aid}/notes",
            json={"text": "Through the pooler.", "version": 0},
            headers=doctor["h"],
        )
        assert notes.status_code in (200, 201), notes.text
        seen: list[dict[str, object]] = []
        after = 0
        while True:
            page = await http.get(
                f"/api/v1/consultations/{aid}/messages?after_seq={after}&limit=100", headers=patient["h"]
            )
            assert page.status_code == 200, page.text
            items = page.json()["items"]
            if not items:
                break
            seen += items
            after = int(items[-1]["seq"])
        texts = [m for m in seen if m.get("kind", "text") == "text"]
        assert len(texts) == 4 * PER_SOCKET
        assert len({m["id"] for m in texts}) == 4 * PER_SOCKET  # each once
        seqs = [int(str(m["seq"])) for m in seen]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert json.dumps(seen)  # plain JSON all the way


def test_the_pool_mode_setting() -> None:
    from careconnect.db import asyncpg_options
    from careconnect.settings import SettingsError, load_settings

    assert load_settings({}).database_pool_mode == "session"
    assert asyncpg_options("session") == {}
    assert load_settings({"DATABASE_POOL_MODE": "Transaction"}).database_pool_mode == "transaction"
    assert asyncpg_options("transaction") == {"statement_cache_size": 0}
    with pytest.raises(SettingsError, match="DATABASE_POOL_MODE"):
        load_settings({"DATABASE_POOL_MODE": "statement"})
