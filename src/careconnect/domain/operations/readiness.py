"""Readiness: can this worker serve requests now? The database answers, and Redis when configured."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, runtime_checkable

from careconnect.domain.operations.schemas import Health
from careconnect.tables import User


@runtime_checkable
class Pinger(Protocol):
    """A client that can prove its server is reachable (``redis.asyncio.Redis`` is one).

    Runtime-checkable: Litestar checks each dependency against its annotation.
    """

    def ping(self) -> Awaitable[object]: ...


class Readiness:
    """Checks every backing service each time it is asked; a load balancer polls ``/readyz``."""

    def __init__(self, redis: Pinger | None = None) -> None:
        self.redis = redis

    async def check(self) -> Health:
        """``ok`` when every check passed, else ``unavailable`` with the failing checks named."""
        checks: dict[str, str] = {}
        try:
            await User.raw("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the database is not ready
            checks["database"] = f"unavailable: {type(exc).__name__}"
        if self.redis is not None:
            try:
                await self.redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:  # noqa: BLE001 - whatever the client raises, Redis is not ready
                checks["redis"] = f"unavailable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return Health(status="ok" if ready else "unavailable", checks=checks)
