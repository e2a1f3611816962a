"""Shared fixtures: migrated SQLite and PostgreSQL databases, apps built from test settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from litestar import Litestar

from careconnect import security
from careconnect.app import create_app
from careconnect.settings import Settings
from careconnect.tables import ALL_TABLES
from tests.error_contract import CHECKED, ErrorContract
from tests.infra import migrate, migrated_postgres_database

TEST_SECRET = "test-secret-key-" + "x" * 32

# The apps these tests build in-process hash passwords with argon2id at its lowest cost (1 pass,
# 1 MiB) instead of the server's (3 passes, 64 MiB: 50-200 ms a hash here, and a test signs in
# several people): `make test` spent minutes hashing. Same algorithm, same code paths, same
# verification of either cost's hashes; every server a test starts as a process (tests/live.py,
# the e2e, browser and cluster tests) keeps the real cost, and tests/test_password_cost.py pins it.
security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
security._DUMMY_HASH = security._hasher.hash("not-a-real-password-but-same-cost")
TESTS = Path(__file__).resolve().parent
_contract = {"on": False}  # per test: check its error responses (tests/error_contract.py)


@pytest.fixture(autouse=True)
def error_contract(request: pytest.FixtureRequest) -> Iterator[None]:
    """Turns on the OpenAPI error-contract check for the tests under ``CHECKED``."""
    path = Path(request.node.path).resolve()
    where = path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else ""
    _contract["on"] = where.startswith(CHECKED)
    try:
        yield
    finally:
        _contract["on"] = False


class _LazyContract:
    """The hook for one app: its document is built on the first error response only."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.contract: ErrorContract | None = None

    async def __call__(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        if self.contract is None:
            self.contract = ErrorContract(self.app.openapi_schema.to_schema())
        await self.contract.check(response)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "careconnect.db"
    url = f"sqlite:///{path}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with migrated_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "cookie_secure": False,
        "enable_test_routes": True,
        "web_dir": str(Path(__file__).resolve().parents[1] / "web" / "out"),
    }
    values.update(overrides)
    return Settings(**values)


def app_dependency(app: Litestar, name: str) -> Any:
    """The app-level dependency ``name`` (``settings``, ``session_check``, ...) of an app ``create_app`` built."""
    return app.dependencies[name].dependency()


async def wipe(app: Litestar) -> None:
    """Empty every table so each test starts from nothing (migrations stay applied)."""
    engine = ALL_TABLES[0]._meta.db  # the app's engine: its lifespan bound every table to it
    names = ", ".join(t._meta.tablename for t in ALL_TABLES)
    if engine.engine_type == "postgres":
        await engine.run_ddl(f"TRUNCATE {names} CASCADE")
    else:
        for table in reversed(ALL_TABLES):
            await engine.run_ddl(f"DELETE FROM {table._meta.tablename}")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for an app whose lifespan runs in the test's own event loop.

    (Litestar's AsyncTestClient runs the lifespan in a portal thread, so an asyncpg pool made
    there could not be used by the test's own database calls.)
    """
    app = create_app(settings)
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        hooks = {"response": [_LazyContract(app)]} if _contract["on"] else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", event_hooks=hooks) as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[Litestar]:
    """Run the app's startup and shutdown in one task of its own (anyio cancel scopes need it)."""
    started = asyncio.Event()
    stop = asyncio.Event()

    async def lifecycle() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifecycle())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()
    try:
        yield app
    finally:
        stop.set()
        await task


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings) as http:
        await wipe(http.app)  # type: ignore[attr-defined]
        yield http


@pytest.fixture(scope="module")
def live_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `careconnect serve` on an ephemeral port and a fresh SQLite file, serving web/out."""
    from tests.live import LiveServer

    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'careconnect.db'}"
    migrate(url)
    server = LiveServer(url, log_path=folder / "server.log").start()
    try:
        yield server.url
    finally:
        server.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last. Playwright's sync API keeps an event loop running in this thread
    for as long as its session-wide browser lives, and an asyncio test collected after them (say
    tests/webhooks, after tests/web) could not start its own loop."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
