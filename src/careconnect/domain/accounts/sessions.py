"""Login sessions: refresh-token families with rotation, reuse detection and revocation.

A session is one login (``AuthSession``); its refresh tokens form a chain. Each refresh marks
the presented token rotated with a conditional UPDATE (only one concurrent refresh can win)
and issues the next one. Presenting a rotated token again means it was stolen or replayed:
the whole family is revoked. Access tokens carry the session id (``sid``); ``SessionCheck``
answers "is this session still good, and whose is it" from a short cache, so a revocation takes
effect at once on the worker that made it and within ``session_check_seconds`` everywhere else.
The app builds one ``SessionCheck`` (the app-level dependency ``session_check``); whatever
revokes a session passes it in (``session_check=``) so this worker forgets its cached answer.

A login also ends by its limits: ``expires_at`` (``SESSION_MAX_HOURS``, shorter for doctors and
admins in production) is checked on every refresh and by ``SessionCheck``; ``last_refreshed_at``
against ``SESSION_IDLE_MINUTES`` on every refresh. A session ended so is revoked with the reason
(``max_age``, ``idle``) and leaves an audit entry.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

from careconnect.domain.audit import service as audit
from careconnect.security import new_opaque_token, token_digest
from careconnect.tables import AuthSession, RefreshToken, User

if TYPE_CHECKING:
    from careconnect.settings import Settings

log = logging.getLogger("careconnect.sessions")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SessionStatus(StrEnum):
    active = "active"
    revoked = "revoked"
    disabled = "disabled"


class RefreshFailure(Exception):
    """The refresh token is unknown, expired, revoked or was reused (then the family is revoked).

    ``reason`` says which (``unknown``, ``revoked``, ``expired``, ``refresh_reuse``, ``max_age``,
    ``idle``, ``disabled``); ``session_id`` is the session it named, when known.
    """

    def __init__(self, message: str, reason: str = "unknown", session_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.session_id = session_id


def max_session_hours(settings: Settings, role: str) -> int:
    """``SESSION_MAX_HOURS`` for ``role``: doctors and admins have their own (12 in production)."""
    return settings.session_max_hours_staff if role in ("doctor", "admin") else settings.session_max_hours


async def open_session(
    user_id: str,
    *,
    kind: str,
    refresh_days: int,
    ip: str = "",
    user_agent: str = "",
    max_hours: int | None = None,
) -> tuple[str, str | None]:
    """Start a session; returns (session id, refresh token or None for client sessions).

    ``max_hours``: the login's absolute lifetime (``max_session_hours``); None for no limit.
    """
    now = utcnow()
    session = AuthSession(
        user=user_id,
        kind=kind,
        created_at=now,
        ip=ip[:64],
        user_agent=user_agent[:300],
        expires_at=now + dt.timedelta(hours=max_hours) if max_hours else None,
        last_refreshed_at=now,
    )
    await session.save()
    if kind == "client":
        return str(session.id), None
    token = await _issue_refresh(str(session.id), refresh_days)
    return str(session.id), token


async def _issue_refresh(session_id: str, refresh_days: int) -> str:
    token = new_opaque_token()
    now = utcnow()
    await RefreshToken(
        session=session_id,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=now + dt.timedelta(days=refresh_days),
    ).save()
    return token


async def rotate_refresh(
    token: str,
    refresh_days: int,
    *,
    idle_minutes: int | None = None,
    grace_seconds: int = 0,
    session_check: SessionCheck | None = None,
) -> tuple[dict[str, Any], str, str]:
    """Use a refresh token once: returns (user row, session id, next refresh token).

    ``idle_minutes``: a session not refreshed for that long has ended (``SESSION_IDLE_MINUTES``).
    ``grace_seconds``: the token rotated last in its session, presented again within this many
    seconds of its rotation, is a response the client lost (``REFRESH_REUSE_GRACE_SECONDS``):
    the token it was answered with is retired and a new one issued, so one refresh token stays
    live. Any other rotated token is a replay: the session ends.
    ``session_check``: forgets a session this refresh ends.
    """
    row = (
        await RefreshToken.select(
            RefreshToken.id,
            RefreshToken.session,
            RefreshToken.expires_at,
            RefreshToken.rotated_at,
            RefreshToken.session.revoked_at.as_alias("revoked_at"),
            RefreshToken.session.user.as_alias("user_id"),
            RefreshToken.session.expires_at.as_alias("session_expires_at"),
            RefreshToken.session.last_refreshed_at.as_alias("last_refreshed_at"),
            RefreshToken.session.created_at.as_alias("session_created_at"),
        )
        .where(RefreshToken.token_hash == token_digest(token))
        .first()
    )
    if row is None:
        raise RefreshFailure("unknown refresh token")
    session_id = str(row["session"])
    if row["revoked_at"] is not None:
        raise RefreshFailure("session revoked", "revoked", session_id)
    now = utcnow()
    if row["expires_at"] <= now:
        raise RefreshFailure("refresh token expired", "expired", session_id)
    last = row["last_refreshed_at"] or row["session_created_at"]
    ended = _ended_by_limit(row["session_expires_at"], last, idle_minutes, now)
    if ended is not None:
        await _end(session_id, ended, f"the session reached its limit ({ended})", session_check)
    won = row["rotated_at"] is None and bool(
        await RefreshToken.update({RefreshToken.rotated_at: utcnow()})
        .where((RefreshToken.id == row["id"]) & RefreshToken.rotated_at.is_null())
        .returning(RefreshToken.id)
    )
    if not won and not await _lost_response(str(row["id"]), session_id, grace_seconds, now):
        # Rotated before (or a moment ago by another request): the same token presented twice.
        await _end(session_id, "refresh_reuse", "refresh token reused; the session was revoked", session_check)
    user = await User.select().where(User.id == row["user_id"]).first()
    if user is None or user["disabled_at"] is not None:
        await revoke_session(session_id, reason="disabled", session_check=session_check)
        raise RefreshFailure("account disabled", "disabled", session_id)
    await AuthSession.update({AuthSession.last_refreshed_at: utcnow()}).where(AuthSession.id == session_id)
    return user, session_id, await _issue_refresh(session_id, refresh_days)


async def _lost_response(token_id: str, session_id: str, grace_seconds: int, now: dt.datetime) -> bool:
    """A rotated token presented again within the grace window, as the last one its session
    rotated: retire the token(s) it was answered with (their response never arrived) and let
    the caller issue the next. False (a replay) outside the window, for an older token, or when
    a racing request retired them first."""
    if grace_seconds <= 0:
        return False
    newest = (
        await RefreshToken.select(RefreshToken.id, RefreshToken.rotated_at)
        .where((RefreshToken.session == session_id) & RefreshToken.rotated_at.is_not_null())
        .order_by(RefreshToken.rotated_at, ascending=False)
        .first()
    )
    if newest is None or str(newest["id"]) != token_id:
        return False
    if newest["rotated_at"] + dt.timedelta(seconds=grace_seconds) < now:
        return False
    # Retired a moment after the presented token's rotation, so they are now the last rotated: the
    # presented token, shown again, is an older one (a replay).
    retired = (
        await RefreshToken.update({RefreshToken.rotated_at: now + dt.timedelta(microseconds=1)})
        .where((RefreshToken.session == session_id) & RefreshToken.rotated_at.is_null())
        .returning(RefreshToken.id)
    )
    if not retired:
        return False
    log.info("refresh token of session %s presented again within the grace window: reissued", session_id)
    return True


async def _end(session_id: str, reason: str, message: str, session_check: SessionCheck | None) -> NoReturn:
    """Revoke the session for ``reason``; the failure names that reason only for the request that
    ended it (a racing one finds it ``revoked``), so each ending is audited once."""
    ended = await revoke_session(session_id, reason=reason, session_check=session_check)
    raise RefreshFailure(message, reason if ended else "revoked", session_id)


def _ended_by_limit(
    expires_at: dt.datetime | None, last_refreshed_at: dt.datetime, idle_minutes: int | None, now: dt.datetime
) -> str | None:
    """``max_age`` or ``idle`` when a session has reached that limit, else None."""
    if expires_at is not None and expires_at <= now:
        return "max_age"
    if idle_minutes is not None and last_refreshed_at + dt.timedelta(minutes=idle_minutes) <= now:
        return "idle"
    return None


async def session_of_refresh(token: str) -> str | None:
    row = await RefreshToken.select(RefreshToken.session).where(RefreshToken.token_hash == token_digest(token)).first()
    return str(row["session"]) if row else None


async def account_of(session_id: str) -> dict[str, Any] | None:
    """The id and role of the account a session belongs to."""
    return await (
        AuthSession.select(AuthSession.user.id.as_alias("id"), AuthSession.user.role.as_alias("role"))
        .where(AuthSession.id == session_id)
        .first()
    )


async def revoke_session(session_id: str, *, reason: str, session_check: SessionCheck | None = None) -> bool:
    """End a session (once: True only for the call that ended it); ``session_check`` forgets it."""
    ended = (
        await AuthSession.update({AuthSession.revoked_at: utcnow(), AuthSession.revoked_reason: reason})
        .where((AuthSession.id == session_id) & AuthSession.revoked_at.is_null())
        .returning(AuthSession.id)
    )
    if session_check is not None:
        session_check.forget(session_id)
    return bool(ended)


async def revoke_user_sessions(
    user_id: str, *, reason: str, keep: str | None = None, session_check: SessionCheck | None = None
) -> None:
    """End every open session of ``user_id`` but ``keep``; ``session_check`` forgets each one."""
    where = (AuthSession.user == user_id) & AuthSession.revoked_at.is_null()
    if keep is not None:
        where = where & (AuthSession.id != keep)
    revoked = (
        await AuthSession.update({AuthSession.revoked_at: utcnow(), AuthSession.revoked_reason: reason})
        .where(where)
        .returning(AuthSession.id)
    )
    if session_check is not None:
        for row in revoked:
            session_check.forget(str(row["id"]))


class SessionAccount(msgspec.Struct, frozen=True):
    """What ``SessionCheck`` knows of a session: its status and the account it belongs to, as the
    database says now (a token's own ``sub`` and ``role`` claims are checked against these)."""

    status: SessionStatus
    user_id: str = ""
    role: str = ""
    expires_at: dt.datetime | None = None
    mfa_active: bool = False


_REVOKED = SessionAccount(SessionStatus.revoked)


class SessionCheck:
    """Caches "is session S still good, whose is it, has that account an active second factor" for
    ``ttl`` seconds per worker.

    A session past its absolute end (``expires_at``) is revoked here (reason ``max_age``, with an
    audit entry) the first time it is looked up after that. One instance per app
    (``create_app`` builds it with ``ttl=settings.session_check_seconds``).
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[SessionAccount, float]] = {}

    def forget(self, session_id: str) -> None:
        self._cache.pop(session_id, None)

    def clear(self) -> None:
        self._cache.clear()

    async def status(self, session_id: str) -> SessionStatus:
        return (await self.account(session_id)).status

    async def state(self, session_id: str) -> tuple[SessionStatus, bool]:
        """(the session's status, whether its account has an active second factor)."""
        found = await self.account(session_id)
        return found.status, found.mfa_active

    async def account(self, session_id: str) -> SessionAccount:
        now = time.monotonic()
        hit = self._cache.get(session_id)
        if hit is not None and now - hit[1] < self.ttl:
            ends = hit[0].expires_at
            if ends is None or ends > utcnow():
                return hit[0]
        found = await _look_up(self, session_id)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[session_id] = (found, now)
        return found


async def _look_up(session_check: SessionCheck, session_id: str) -> SessionAccount:
    try:
        uuid.UUID(session_id)
    except ValueError:
        return _REVOKED
    row = (
        await AuthSession.select(
            AuthSession.revoked_at,
            AuthSession.expires_at,
            AuthSession.user.id.as_alias("user_id"),
            AuthSession.user.role.as_alias("role"),
            AuthSession.user.disabled_at.as_alias("disabled_at"),
            AuthSession.user.mfa_enabled_at.as_alias("mfa_enabled_at"),
        )
        .where(AuthSession.id == session_id)
        .first()
    )
    if row is None or row["revoked_at"] is not None:
        return _REVOKED
    user_id, role = str(row["user_id"]), str(row["role"])
    if row["expires_at"] is not None and row["expires_at"] <= utcnow():
        if await revoke_session(session_id, reason="max_age", session_check=session_check):
            await audit.record(
                actor=audit.account_actor({"id": user_id, "role": role}, session_id),
                action="session.max_age",
                resource_type="session",
                resource_id=session_id,
                outcome="denied",
            )
        return _REVOKED
    if row["disabled_at"] is not None:
        return SessionAccount(SessionStatus.disabled, user_id, role)
    return SessionAccount(
        SessionStatus.active, user_id, role, row["expires_at"], mfa_active=row["mfa_enabled_at"] is not None
    )
