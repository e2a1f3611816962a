"""Recognise a database or Redis outage, so it answers 503 ``unavailable`` rather than 500."""

from __future__ import annotations

import sqlite3

_UNAVAILABLE_NAMES = {
    "ConnectionDoesNotExistError",
    "CannotConnectNowError",
    "ConnectionFailureError",
    "InterfaceError",
    "PostgresConnectionError",
    "TooManyConnectionsError",
    "AdminShutdownError",
    "ConnectionError",
    "TimeoutError",
}


def is_unavailable(exc: BaseException) -> bool:
    """True for connection-level failures of PostgreSQL, SQLite (locked) or Redis."""
    try:
        import redis.exceptions as redis_exc

        if isinstance(exc, (redis_exc.ConnectionError, redis_exc.TimeoutError)):
            return True
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    if isinstance(exc, (ConnectionError, OSError)):
        return True
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return True
    return any(cls.__name__ in _UNAVAILABLE_NAMES for cls in type(exc).__mro__)
