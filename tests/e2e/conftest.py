"""A real server process per module, on SQLite (the embedded default) or PostgreSQL + Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live import LiveServer, served


@pytest.fixture(scope="module", params=["sqlite", "postgres+redis"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    if request.param == "sqlite":
        with served(folder) as server:
            yield server
    else:
        with served(folder, "postgres", redis_db=3) as server:
            yield server
