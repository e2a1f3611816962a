"""A real server process per module, on SQLite (the embedded default) or PostgreSQL + Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra import REDIS_URL, create_postgres_database, drop_postgres_database, migrate, need_postgres, need_redis
from tests.live import LiveServer


@pytest.fixture(scope="module", params=["sqlite", "postgres+redis"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    if request.param == "sqlite":
        url, redis, name = f"sqlite:///{folder / 'cc.db'}", None, None
    else:
        need_postgres()
        need_redis()
        url, name = create_postgres_database()
        redis = REDIS_URL.rsplit("/", 1)[0] + "/3"
    migrate(url)
    server = LiveServer(url, redis_url=redis, log_path=folder / "server.log").start()
    try:
        yield server
    finally:
        server.stop()
        if name:
            drop_postgres_database(name)
        log = (folder / "server.log").read_text()
        assert "Traceback" not in log, log[-3000:]
