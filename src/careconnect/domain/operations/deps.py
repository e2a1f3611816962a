"""Providers for the operations controller (``Provide(provide_readiness)``)."""

from __future__ import annotations

from careconnect.domain.operations.readiness import Migrations, Pinger, Readiness
from careconnect.settings import Settings


def provide_readiness(redis: Pinger | None, migrations: Migrations, settings: Settings) -> Readiness:
    """The readiness checks over the app's Redis client and the migrations this version ships."""
    return Readiness(redis, migrations, timeout_s=settings.readyz_timeout_s)
