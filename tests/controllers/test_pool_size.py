"""``DATABASE_POOL_SIZE``: the most PostgreSQL connections one worker opens, shared between the
ORM's pool and the message store's (``careconnect.db.split_pool``), so that workers × size fits
under PostgreSQL's ``max_connections`` (or PgBouncer's ``max_client_conn``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from careconnect.app import hub_of
from careconnect.db import split_pool
from careconnect.settings import SettingsError, load_settings
from tests.conftest import app_client, make_settings
from tests.helpers import signed_in
from tests.infra import POSTGRES_ADMIN_URL, migrated_postgres_database


def test_the_setting_is_read_and_checked() -> None:
    assert load_settings({}).database_pool_size == 26
    assert load_settings({"DATABASE_POOL_SIZE": " 12 "}).database_pool_size == 12
    for bad in ("5", "0", "-3", "1001", "ten", "12.5", "1e3"):
        with pytest.raises(SettingsError, match="DATABASE_POOL_SIZE"):
            load_settings({"DATABASE_POOL_SIZE": bad})


def test_the_split_keeps_the_old_default_and_the_stores_writers() -> None:
    assert split_pool(26) == (20, 6)  # what every worker opened before the setting
    assert split_pool(6) == (3, 3)  # the store's two kept writers and one for history pages
    assert split_pool(13) == (10, 3)
    assert split_pool(100) == (94, 6)
    for size in range(6, 1001):
        orm, store = split_pool(size)
        assert orm + store == size and orm >= 3 and 3 <= store <= 6


@pytest.fixture(scope="module")
def own_database() -> Iterator[str]:
    with migrated_postgres_database() as url:
        yield url


async def _connections(url: str) -> int:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name))
    finally:
        await conn.close()


async def _peak_under_load(url: str, **overrides: object) -> tuple[int, object]:
    """The most connections to ``url`` seen while 40 requests run at once."""
    async with app_client(make_settings(url, **overrides)) as http:
        _, headers = await signed_in(http, "patient")
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, await _connections(url))
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        try:
            for _ in range(3):
                answers = await asyncio.gather(*(http.get("/api/v1/appointments", headers=headers) for _ in range(40)))
                assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200]
        finally:
            watcher.cancel()
        peak = max(peak, await _connections(url))
        store = hub_of(http.app).store  # type: ignore[attr-defined]
        while hasattr(store, "inner"):
            store = store.inner
        return peak, store


@pytest.mark.postgres
async def test_a_worker_opens_no_more_connections_than_the_setting(own_database: str) -> None:
    peak, store = await _peak_under_load(own_database, database_pool_size=8)
    assert store.pool_size == 3  # type: ignore[attr-defined]
    assert 0 < peak <= 8, peak
    # and the default lets the same load open more: the limit above is the setting's doing
    peak, store = await _peak_under_load(own_database)
    assert store.pool_size == 6  # type: ignore[attr-defined]
    assert peak > 8, peak
