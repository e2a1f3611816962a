"""Issue 19: the migration that adds ``chat_message.kind`` reads every message already stored as
"text", on SQLite and PostgreSQL, through the hub's own store."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg

from careconnect.domain.consultations.chat_store import sql_message_store
from tests.infra import create_postgres_database, drop_postgres_database, migrate, need_postgres
from tests.test_migration_access import migrate_until

BEFORE = "2026-12-01T13:25:05:537297"  # the migration before chat_message_kind
ROOM = "consultation:33333333-3333-4333-8333-333333333333"
ROWS = (
    f"INSERT INTO chat_room (name, last_seq, created_at) VALUES ('{ROOM}', 1, '2026-01-01T00:00:00+00:00')",
    "INSERT INTO chat_message (room, seq, client_id, sender_id, sender_role, sender_name, body, created_at) VALUES "
    f"('{ROOM}', 1, 'old-1', 'someone', 'patient', 'P', 'hello from before', '2026-01-01T00:00:00+00:00')",
)


async def _kinds(url: str) -> list[tuple[str, str]]:
    store = sql_message_store(url)
    await store.start()
    try:
        return [(m.body, m.kind) for m in await store.read_last(ROOM, 10)]
    finally:
        await store.close()


def test_sqlite_messages_from_before_are_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate_until(url, BEFORE)
    with sqlite3.connect(tmp_path / "old.db") as db:
        for statement in ROWS:
            db.execute(statement)
    migrate(url)
    assert asyncio.run(_kinds(url)) == [("hello from before", "text")]


def test_postgres_messages_from_before_are_text() -> None:
    need_postgres()
    url, name = create_postgres_database()
    try:
        migrate_until(url, BEFORE)

        async def run() -> None:
            conn = await asyncpg.connect(url)
            try:
                for statement in ROWS:
                    await conn.execute(statement)
            finally:
                await conn.close()

        asyncio.run(run())
        migrate(url)
        assert asyncio.run(_kinds(url)) == [("hello from before", "text")]
    finally:
        drop_postgres_database(name)
