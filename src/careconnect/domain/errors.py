"""The errors the business rules raise, free of HTTP.

A service says *what* went wrong (``raise NotFound("No such appointment.")``); the HTTP layer
says how that is answered: ``careconnect.errors`` maps each class to one status and turns it
into problem details once, for every route. Each error carries the stable machine ``code``
clients switch on (API.md "Errors"), a sentence for people, and optionally the per-field
``errors`` list and response headers (``Retry-After`` for ``RateLimited``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A rule refused the request; subclasses name the kind, ``code`` the precise reason."""

    default_code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


class BadRequest(DomainError):
    """The request cannot be understood as sent (400)."""


class Unauthenticated(DomainError):
    """No valid credentials, or they were refused (401)."""

    default_code = "unauthorized"


class Forbidden(DomainError):
    """Known caller, not allowed (403). Prefer ``NotFound`` where existence itself is private."""

    default_code = "forbidden"


class NotFound(DomainError):
    """No such thing, or not yours (404: the two are never told apart)."""

    default_code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state (409): ``slot_taken``, ``invalid_state``, ..."""

    default_code = "conflict"


class TooLarge(DomainError):
    """The content is over a size limit (413)."""

    default_code = "too_large"


class Invalid(DomainError):
    """Fields that break a rule (422 ``validation_error``), each named in ``errors``."""

    default_code = "validation_error"


class RateLimited(DomainError):
    """Too many attempts (429); ``retry_after`` seconds go out as ``Retry-After``."""

    default_code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A backing service is down; try again shortly (503)."""

    default_code = "unavailable"


def not_found(what: str = "resource") -> NotFound:
    return NotFound(f"No such {what}.")


def invalid(field: str, message: str, detail: str = "The request has invalid fields.") -> Invalid:
    """One field's rule broken: ``raise invalid("timezone", "unknown time zone")``."""
    return Invalid(detail, errors=[{"field": field, "message": message}])
