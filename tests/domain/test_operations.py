"""The readiness service on its own, without HTTP: it asks every backing service each time."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from careconnect.domain.operations.readiness import Readiness
from tests.conftest import app_client, make_settings
from tests.infra import REDIS_URL, need_redis
from tests.live import free_port


@pytest.fixture
async def bound_tables(sqlite_url):
    """The tables bound to a migrated database, as a running app binds them."""
    async with app_client(make_settings(sqlite_url)):
        yield


async def test_without_redis_only_the_database_is_checked(bound_tables):
    health = await Readiness(None).check()
    assert (health.status, health.checks, health.ready) == ("ok", {"database": "ok"}, True)


async def test_a_reachable_redis_is_ready(bound_tables):
    need_redis()
    redis = Redis.from_url(REDIS_URL)
    try:
        health = await Readiness(redis).check()
    finally:
        await redis.aclose()
    assert health.ready and health.checks == {"database": "ok", "redis": "ok"}


async def test_an_unreachable_redis_makes_the_worker_unready_and_is_named(bound_tables):
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=2)
    try:
        health = await Readiness(redis).check()
    finally:
        await redis.aclose()
    assert not health.ready
    assert health.status == "unavailable"
    assert health.checks == {"database": "ok", "redis": "unavailable: ConnectionError"}
