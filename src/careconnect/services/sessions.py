"""Login sessions: refresh-token families with rotation, reuse detection and revocation.

A session is one login (``AuthSession``); its refresh tokens form a chain. Each refresh marks
the presented token rotated with a conditional UPDATE (only one concurrent refresh can win)
and issues the next one. Presenting a rotated token again means it was stolen or replayed:
the whole family is revoked. Access tokens carry the session id (``sid``); ``SessionCheck``
answers "is this session still good" from a short cache, so a revocation takes effect at once
on the worker that made it and within ``session_check_seconds`` everywhere else.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from enum import StrEnum

from careconnect.security import new_opaque_token, token_digest
from careconnect.tables import AuthSession, RefreshToken, User


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SessionStatus(StrEnum):
    active = "active"
    revoked = "revoked"
    disabled = "disabled"


class RefreshFailure(Exception):
    """The refresh token is unknown, expired, revoked or was reused (then the family is revoked)."""


async def open_session(
    user_id: str, *, kind: str, refresh_days: int, ip: str = "", user_agent: str = ""
) -> tuple[str, str | None]:
    """Start a session; returns (session id, refresh token or None for client sessions)."""
    session = AuthSession(user=user_id, kind=kind, created_at=utcnow(), ip=ip[:64], user_agent=user_agent[:300])
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


async def rotate_refresh(token: str, refresh_days: int) -> tuple[dict, str, str]:
    """Use a refresh token once: returns (user row, session id, next refresh token)."""
    row = (
        await RefreshToken.select(
            RefreshToken.id,
            RefreshToken.session,
            RefreshToken.expires_at,
            RefreshToken.rotated_at,
            RefreshToken.session.revoked_at.as_alias("revoked_at"),
            RefreshToken.session.user.as_alias("user_id"),
        )
        .where(RefreshToken.token_hash == token_digest(token))
        .first()
    )
    if row is None:
        raise RefreshFailure("unknown refresh token")
    session_id = str(row["session"])
    if row["revoked_at"] is not None:
        raise RefreshFailure("session revoked")
    if row["rotated_at"] is not None:
        await revoke_session(session_id, reason="refresh_reuse")
        raise RefreshFailure("refresh token reused; the session was revoked")
    if row["expires_at"] <= utcnow():
        raise RefreshFailure("refresh token expired")
    won = (
        await RefreshToken.update({RefreshToken.rotated_at: utcnow()})
        .where((RefreshToken.id == row["id"]) & RefreshToken.rotated_at.is_null())
        .returning(RefreshToken.id)
    )
    if not won:
        # Another request rotated it a moment ago: the same token was presented twice.
        await revoke_session(session_id, reason="refresh_reuse")
        raise RefreshFailure("refresh token reused; the session was revoked")
    user = await User.select().where(User.id == row["user_id"]).first()
    if user is None or user["disabled_at"] is not None:
        await revoke_session(session_id, reason="disabled")
        raise RefreshFailure("account disabled")
    return user, session_id, await _issue_refresh(session_id, refresh_days)


async def session_of_refresh(token: str) -> str | None:
    row = await RefreshToken.select(RefreshToken.session).where(RefreshToken.token_hash == token_digest(token)).first()
    return str(row["session"]) if row else None


async def revoke_session(session_id: str, *, reason: str) -> None:
    await AuthSession.update({AuthSession.revoked_at: utcnow(), AuthSession.revoked_reason: reason}).where(
        (AuthSession.id == session_id) & AuthSession.revoked_at.is_null()
    )
    SESSION_CHECK.forget(session_id)


async def revoke_user_sessions(user_id: str, *, reason: str, keep: str | None = None) -> None:
    where = (AuthSession.user == user_id) & AuthSession.revoked_at.is_null()
    if keep is not None:
        where = where & (AuthSession.id != keep)
    revoked = (
        await AuthSession.update({AuthSession.revoked_at: utcnow(), AuthSession.revoked_reason: reason})
        .where(where)
        .returning(AuthSession.id)
    )
    for row in revoked:
        SESSION_CHECK.forget(str(row["id"]))


class SessionCheck:
    """Caches "is session S of user U still good" (and has U an active second factor) for ``ttl``
    seconds per worker."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[SessionStatus, float, bool]] = {}

    def forget(self, session_id: str) -> None:
        self._cache.pop(session_id, None)

    def clear(self) -> None:
        self._cache.clear()

    async def status(self, session_id: str) -> SessionStatus:
        return (await self.state(session_id))[0]

    async def state(self, session_id: str) -> tuple[SessionStatus, bool]:
        """(the session's status, whether its account has an active second factor)."""
        now = time.monotonic()
        hit = self._cache.get(session_id)
        if hit is not None and now - hit[1] < self.ttl:
            return hit[0], hit[2]
        try:
            uuid.UUID(session_id)
        except ValueError:
            return SessionStatus.revoked, False
        row = (
            await AuthSession.select(
                AuthSession.revoked_at,
                AuthSession.user.disabled_at.as_alias("disabled_at"),
                AuthSession.user.mfa_enabled_at.as_alias("mfa_enabled_at"),
            )
            .where(AuthSession.id == session_id)
            .first()
        )
        if row is None or row["revoked_at"] is not None:
            status = SessionStatus.revoked
        elif row["disabled_at"] is not None:
            status = SessionStatus.disabled
        else:
            status = SessionStatus.active
        if len(self._cache) > 50_000:
            self._cache.clear()
        mfa_active = row is not None and row["mfa_enabled_at"] is not None
        self._cache[session_id] = (status, now, mfa_active)
        return status, mfa_active


SESSION_CHECK = SessionCheck()
