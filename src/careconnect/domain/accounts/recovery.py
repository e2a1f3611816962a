"""Account recovery and verification: the mailed single-use links (issue 17).

- ``verify_email``: a signed-in user asks for a link (24 h); following it proves the address.
- ``password_reset``: anyone asks for a link for an email (30 min); the answer is the same
  whether or not the email names an account. Following it sets a new password, ends every
  session of the account (and closes its sockets), and proves the address too.

Tokens are ``secrets.token_urlsafe(32)`` (256 bits), stored only as their SHA-256 (nothing to
guess, so no slow hash is needed), single use (spent with one conditional ``UPDATE``, so two
concurrent uses cannot both win), and a new link of a kind supersedes the older unused ones.
Each token row and its mail are written in one transaction (``Mailer`` inside it).
docs/security.md "Account recovery" says why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import TYPE_CHECKING, Any, Literal

from careconnect.db import write_transaction
from careconnect.domain.accounts import sessions
from careconnect.domain.accounts.schemas import AcceptedOut, PasswordResetIn, PasswordResetRequestIn, VerifyEmailIn
from careconnect.domain.accounts.throttle import Throttled
from careconnect.domain.audit.service import client_ip, record
from careconnect.domain.errors import BadRequest, not_found
from careconnect.domain.notifications.schemas import Recipient
from careconnect.security import hash_password
from careconnect.tables import AccountToken, User

if TYPE_CHECKING:
    from collections.abc import Mapping

    from careconnect.domain.accounts.sessions import SessionCheck
    from careconnect.domain.accounts.throttle import Throttles
    from careconnect.domain.admin.service import LiveConnections
    from careconnect.domain.notifications.mailing import Mailer
    from careconnect.principal import Principal
    from careconnect.settings import Settings

Purpose = Literal["verify_email", "password_reset"]
VERIFY_HOURS = 24
RESET_MINUTES = 30
_LIFETIME: dict[Purpose, dt.timedelta] = {
    "verify_email": dt.timedelta(hours=VERIFY_HOURS),
    "password_reset": dt.timedelta(minutes=RESET_MINUTES),
}
_INVALID = "This link is invalid, expired or already used: ask for a new one."
RESET_ACCEPTED = AcceptedOut(
    detail="If an account uses this email, a link to reset its password is on its way. It works for 30 minutes."
)
VERIFY_ACCEPTED = AcceptedOut(detail="A link to confirm your email address is on its way. It works for 24 hours.")


def digest(token: str) -> str:
    """The stored form of a link token (SHA-256, hex): the token has 256 random bits."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _recipient(user: Mapping[str, Any]) -> Recipient:
    return Recipient(user_id=str(user["id"]), email=user["email"], name=user["full_name"], timezone=user["timezone"])


async def _issue(user_id: Any, purpose: Purpose) -> tuple[str, str]:
    """A new token of ``purpose`` for the user (older unused ones are spent); returns (token, row id)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    await AccountToken.update({AccountToken.used_at: now}).where(
        (AccountToken.user == user_id) & (AccountToken.purpose == purpose) & AccountToken.used_at.is_null()
    )
    token_id = uuid.uuid4()
    await AccountToken.insert(
        AccountToken(
            id=token_id,
            user=user_id,
            purpose=purpose,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + _LIFETIME[purpose],
        )
    )
    return token, str(token_id)


async def _spend(token: str, purpose: Purpose) -> str | None:
    """Spend a live token of ``purpose`` (one conditional UPDATE: one winner); its user's id, or None."""
    now = _now()
    rows = (
        await AccountToken.update({AccountToken.used_at: now})
        .where(
            (AccountToken.token_hash == digest(token))
            & (AccountToken.purpose == purpose)
            & AccountToken.used_at.is_null()
            & (AccountToken.expires_at > now)
        )
        .returning(AccountToken.user)
    )
    return str(rows[0]["user"]) if rows else None


async def queue_reset(mailer: Mailer, user: Mapping[str, Any], *, requested_by_admin: bool = False) -> None:
    """A reset token and its mail, in one transaction (the caller checked the account may have one)."""
    async with write_transaction():
        token, token_id = await _issue(user["id"], "password_reset")
        await mailer.password_reset(
            _recipient(user),
            token,
            token_id=token_id,
            valid_minutes=RESET_MINUTES,
            requested_by_admin=requested_by_admin,
        )


async def _dummy_reset_work() -> None:
    """What an unknown email costs instead of a token and a mail: a comparable write that matches nothing."""
    async with write_transaction():
        await AccountToken.update({AccountToken.used_at: _now()}).where(
            (AccountToken.token_hash == digest(secrets.token_urlsafe(32))) & AccountToken.used_at.is_null()
        )


class RecoveryService:
    """Email verification and password reset. ``scope``: the request's ASGI scope (audit, address)."""

    def __init__(
        self,
        settings: Settings,
        session_check: SessionCheck,
        throttles: Throttles,
        mailer: Mailer,
        events: LiveConnections,
    ) -> None:
        self.settings = settings
        self.session_check = session_check
        self.throttles = throttles
        self.mailer = mailer
        self.events = events

    # Email verification

    async def request_verification(self, principal: Principal, scope: Mapping[str, Any]) -> AcceptedOut:
        """Mail a verification link to the signed-in user's address (none if already verified)."""
        ip = client_ip(scope)
        try:
            await self.throttles.check("verify_request", principal.id, ip)
        except Throttled:
            await _audit(scope, principal, "account.verify_email_request", principal.id, "rate_limited")
            raise
        await self.throttles.failed("verify_request", principal.id, ip)  # each request stays counted
        user = await User.select().where(User.id == principal.id).first()
        if user is None:
            raise not_found("user")
        outcome = "already_verified"
        if not user["email_verified"]:
            async with write_transaction():
                token, token_id = await _issue(user["id"], "verify_email")
                await self.mailer.email_verification(
                    _recipient(user), token, token_id=token_id, valid_hours=VERIFY_HOURS
                )
            outcome = "success"
        await _audit(scope, principal, "account.verify_email_request", principal.id, outcome)
        return VERIFY_ACCEPTED

    async def verify_email(self, data: VerifyEmailIn, scope: Mapping[str, Any]) -> None:
        """Follow a verification link: the address is proven. 400 ``invalid_token`` otherwise."""
        async with write_transaction():
            user_id = await _spend(data.token, "verify_email")
            user = await User.select().where(User.id == user_id).first() if user_id else None
            usable = user is not None and user["disabled_at"] is None
            if usable:
                await User.update({User.email_verified: True}).where(User.id == user_id)
        await _audit(scope, None, "account.verify_email", user_id, "success" if usable else "invalid_token")
        if not usable:
            raise BadRequest(_INVALID, code="invalid_token")

    # Password reset

    async def request_reset(self, data: PasswordResetRequestIn, scope: Mapping[str, Any]) -> AcceptedOut:
        """Mail a reset link if the email names an active person's account; the answer never tells."""
        email = data.email.strip().lower()
        ip = client_ip(scope)
        try:
            await self.throttles.check("reset_request", email, ip)
        except Throttled:
            known = await User.select(User.id).where(User.email == email).first()
            await _audit(scope, None, "account.password_reset_request", _id(known), "rate_limited")
            raise
        await self.throttles.failed("reset_request", email, ip)  # every request counts (nothing succeeds)
        user = await User.select().where(User.email == email).first()
        if user is None:
            outcome = "unknown_email"
        elif user["role"] == "bot":
            outcome = "not_a_person"
        elif user["disabled_at"] is not None:
            outcome = "disabled"
        else:
            outcome = "success"
        if outcome == "success":
            assert user is not None
            await queue_reset(self.mailer, user)
        else:
            await _dummy_reset_work()
        await _audit(scope, None, "account.password_reset_request", _id(user), outcome)
        return RESET_ACCEPTED

    async def reset_password(self, data: PasswordResetIn, scope: Mapping[str, Any]) -> None:
        """Set a new password with a reset link; every session of the account ends, its sockets close."""
        password_hash = await hash_password(data.new_password)  # before the transaction: no lock held while hashing
        async with write_transaction():
            user_id = await _spend(data.token, "password_reset")
            user = await User.select().where(User.id == user_id).first() if user_id else None
            usable = user is not None and user["disabled_at"] is None and user["role"] != "bot"
            if usable:
                await User.update({User.password_hash: password_hash, User.email_verified: True}).where(
                    User.id == user_id
                )
                # Older reset links die with this one.
                await AccountToken.update({AccountToken.used_at: _now()}).where(
                    (AccountToken.user == user_id)
                    & (AccountToken.purpose == "password_reset")
                    & AccountToken.used_at.is_null()
                )
        if not usable or user_id is None:
            await _audit(scope, None, "account.password_reset", user_id, "invalid_token")
            raise BadRequest(_INVALID, code="invalid_token")
        await sessions.revoke_user_sessions(user_id, reason="password_reset", session_check=self.session_check)
        await self.events.disconnect_user(user_id)
        await _audit(scope, None, "account.password_reset", user_id, "success")


def _id(row: Mapping[str, Any] | None) -> str | None:
    return str(row["id"]) if row else None


async def _audit(
    scope: Mapping[str, Any], actor: Principal | None, action: str, account_id: str | None, outcome: str
) -> None:
    """An entry on the account (its id when known, never the email, token or password)."""
    await record(
        actor=actor,
        action=action,
        resource_type="account",
        resource_id=account_id,
        outcome=outcome,
        scope=scope,
    )
