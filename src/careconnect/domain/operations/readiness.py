"""Readiness: can this worker serve requests now? The database answers within the timeout and
has every migration this version ships applied; Redis answers when configured.

A check that does not answer within ``timeout_s`` counts as unavailable, so a load balancer's
probe never hangs on a database that accepts connections but does not answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from careconnect.domain.operations.schemas import Health
from careconnect.tables import User

_ID = re.compile(r'^ID = "([^"]+)"', re.MULTILINE)


@runtime_checkable
class Pinger(Protocol):
    """A client that can prove its server is reachable (``redis.asyncio.Redis`` is one).

    Runtime-checkable: Litestar checks each dependency against its annotation.
    """

    def ping(self) -> Awaitable[object]: ...


class Migrations(frozenset[str]):
    """The migration ids this version ships (read once from the migration files)."""

    @classmethod
    def shipped_in(cls, folder: Path) -> Migrations:
        found = (_ID.search(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.py")))
        return cls(match.group(1) for match in found if match)


class Readiness:
    """Checks every backing service each time it is asked; a load balancer polls ``/readyz``."""

    def __init__(
        self, redis: Pinger | None = None, migrations: Migrations | None = None, timeout_s: float = 2.0
    ) -> None:
        self.redis = redis
        self.migrations = migrations
        self.timeout_s = timeout_s

    async def check(self) -> Health:
        """``ok`` when every check passed, else ``unavailable`` with the failing checks named."""
        checks = {"database": await self._within(self._database)}
        if self.redis is not None:
            checks["redis"] = await self._within(self.redis.ping)
        ready = all(value == "ok" for value in checks.values())
        return Health(status="ok" if ready else "unavailable", checks=checks)

    async def _database(self) -> str:
        await User.raw("SELECT 1")
        if self.migrations is None:
            return "ok"
        rows = await User.raw("SELECT name FROM migration WHERE app_name = {}", "careconnect")
        missing = len(self.migrations - {str(row["name"]) for row in rows})
        return "ok" if missing == 0 else f"unavailable: {missing} migration(s) not applied (run careconnect migrate)"

    async def _within(self, probe: Callable[[], Awaitable[object]]) -> str:
        try:
            async with asyncio.timeout(self.timeout_s):
                outcome = await probe()
        except TimeoutError:
            return f"unavailable: no answer within {self.timeout_s:g} s"
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the service is not ready
            return f"unavailable: {type(exc).__name__}"
        return outcome if isinstance(outcome, str) else "ok"
