"""Providers for the operations controller (``Provide(provide_readiness)``)."""

from __future__ import annotations

from careconnect.domain.operations.readiness import Pinger, Readiness


def provide_readiness(redis: Pinger | None) -> Readiness:
    """The readiness checks over the app's Redis client (the app-level dependency ``redis``)."""
    return Readiness(redis)
