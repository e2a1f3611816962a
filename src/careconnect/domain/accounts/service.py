"""Accounts: sign-up, sign-in (password, second factor, bot client credentials), refresh-token
rotation, sign-out, and the signed-in user's own account.

Every sign-in attempt and every ended session is an audit entry. Guessable secrets are counted
by ``Throttles`` before they are checked. A sign-in answers a ``SignedIn``: the API body and the
refresh token the HTTP layer sets as a cookie (bots get none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from careconnect.domain.accounts import mfa, sessions
from careconnect.domain.accounts.schemas import (
    ClientCredentialsIn,
    LoginIn,
    MfaLoginIn,
    PasswordChangeIn,
    RegisterIn,
    TokenOut,
    UserOut,
    UserPatch,
)
from careconnect.domain.accounts.throttle import Throttled
from careconnect.domain.accounts.users import check_timezone, create_user, update_account, user_out
from careconnect.domain.audit.service import account_actor, client_ip, record
from careconnect.domain.errors import Forbidden, Unauthenticated, invalid, not_found
from careconnect.security import hash_password, issue_access_token, verify_password
from careconnect.tables import Integration, User

if TYPE_CHECKING:
    from collections.abc import Mapping

    from careconnect.domain.accounts.sessions import SessionCheck
    from careconnect.domain.accounts.throttle import Throttles
    from careconnect.principal import Principal
    from careconnect.settings import Settings

_UNAUTHORIZED = "Wrong email or password."
# Refresh failures that end a session, each an audit entry (``session.<reason>``).
_AUDITED_ENDINGS = frozenset({"refresh_reuse", "max_age", "idle"})


class SignedIn(msgspec.Struct, frozen=True):
    """A sign-in's answer: the body, and the refresh token to set as a cookie (None for bots)."""

    body: TokenOut
    refresh_token: str | None = None


class AccountsService:
    """Sign-up, sign-in, sessions and the own account.

    ``scope`` arguments are the request's ASGI scope: the trusted client address and the request
    id of the audit entries (``domain.audit.service``).
    """

    def __init__(self, settings: Settings, session_check: SessionCheck, throttles: Throttles) -> None:
        self.settings = settings
        self.session_check = session_check
        self.throttles = throttles

    # Sign-up and sign-in

    async def register(self, data: RegisterIn) -> UserOut:
        settings = self.settings
        if data.role == "doctor":
            if settings.doctor_signup == "closed":
                raise Forbidden("Doctor accounts are created by an administrator here.")
            if data.doctor is None:
                raise invalid("doctor", "doctor details (at least specialty) are required")
        timezone = check_timezone(data.timezone) if data.timezone else "UTC"
        row = await create_user(
            email=data.email,
            password=data.password,
            full_name=data.full_name,
            role=data.role,
            timezone=timezone,
            doctor=data.doctor if data.role == "doctor" else None,
            # issue 15: under DOCTOR_REGISTRATION=review a doctor waits for an admin's approval.
            verification="pending" if settings.doctor_signup == "review" else "approved",
        )
        return await user_out(row)

    async def login(self, data: LoginIn, scope: Mapping[str, Any], *, user_agent: str = "") -> SignedIn:
        """A password sign-in; an account with a second factor gets 401 ``mfa_required`` and an ``mfa_token``."""
        email = data.email.strip().lower()
        ip = client_ip(scope)
        try:
            await self.throttles.check("login", email, ip)  # counted before the password is checked
        except Throttled:
            known = await User.select(User.id).where(User.email == email).first()
            await _audit_sign_in(scope, "rate_limited", attempted=str(known["id"]) if known else None)
            raise
        user = await User.select().where(User.email == email).first()
        ok = await verify_password(user["password_hash"] if user else None, data.password)
        if not ok or user is None or user["role"] == "bot":
            await self.throttles.failed("login", email, ip)
            await _audit_sign_in(scope, "denied", attempted=str(user["id"]) if user else None)
            raise Unauthenticated(_UNAUTHORIZED)
        await self.throttles.succeeded("login", email, ip)
        if user["disabled_at"] is not None:
            await _audit_sign_in(scope, "denied", attempted=str(user["id"]))
            raise Forbidden("This account has been disabled.")
        if user["mfa_enabled_at"] is not None:
            # The password was right; no session until POST /auth/login/mfa with a code.
            await _audit_sign_in(scope, "mfa_required", attempted=str(user["id"]))
            raise Unauthenticated(
                "Enter the code from your authenticator app (or a recovery code).",
                code="mfa_required",
                extra={"mfa_token": await mfa.open_challenge(str(user["id"]))},
            )
        return await self._open_password_session(user, scope, user_agent)

    async def login_mfa(self, data: MfaLoginIn, scope: Mapping[str, Any], *, user_agent: str = "") -> SignedIn:
        """The second sign-in step: the ``mfa_token`` of a right password, and a TOTP or recovery code."""
        # Counted atomically per (account, address) before the code is checked, so concurrent guesses
        # on one mfa_token cannot outrun its own count of tries.
        # (A spent or unknown token gets its own 401 invalid_token: nothing to guess there.)
        subject, ip = await mfa.challenge_subject(data.mfa_token), client_ip(scope)
        if subject is not None:
            await self.throttles.check("mfa", subject, ip)
        user = await mfa.complete_challenge(self.settings, data.mfa_token, data.code, scope)
        if subject is not None:
            await self.throttles.succeeded("mfa", subject, ip)
        return await self._open_password_session(user, scope, user_agent)

    async def client_token(self, data: ClientCredentialsIn, scope: Mapping[str, Any]) -> TokenOut:
        """A bot's access token from its integration's client id and secret (no refresh token)."""
        row = (
            await Integration.select(
                Integration.secret_hash,
                Integration.bot_user.as_alias("bot_user_id"),
                Integration.bot_user.disabled_at.as_alias("disabled_at"),
            )
            .where(Integration.client_id == data.client_id)
            .first()
        )
        attempted = str(row["bot_user_id"]) if row else None
        if not await verify_password(row["secret_hash"] if row else None, data.client_secret) or row is None:
            await _audit_sign_in(scope, "denied", attempted=attempted, action="auth.token")
            raise Unauthenticated("Unknown client or wrong secret.")
        if row["disabled_at"] is not None:
            await _audit_sign_in(scope, "denied", attempted=attempted, action="auth.token")
            raise Forbidden("This integration has been disabled.")
        user = await User.select().where(User.id == row["bot_user_id"]).first()
        assert user is not None
        session_id, _ = await sessions.open_session(
            str(user["id"]), kind="client", refresh_days=self.settings.refresh_token_days, ip=client_ip(scope)
        )
        await _audit_sign_in(
            scope, "success", attempted=attempted, user=user, session_id=session_id, action="auth.token"
        )
        return await self._token_out(user, session_id)

    # Sessions

    async def refresh(self, presented: str | None, scope: Mapping[str, Any]) -> SignedIn:
        """Rotate a refresh token: a new access token and the next refresh token."""
        if not presented:
            raise Unauthenticated("No refresh cookie: sign in again.")
        try:
            user, session_id, new_refresh = await sessions.rotate_refresh(
                presented,
                self.settings.refresh_token_days,
                idle_minutes=self.settings.session_idle_minutes,
                grace_seconds=self.settings.refresh_reuse_grace_seconds,
                session_check=self.session_check,
            )
        except sessions.RefreshFailure as failure:
            if failure.reason in _AUDITED_ENDINGS and failure.session_id is not None:
                await _audit_session_end(scope, failure.session_id, f"session.{failure.reason}")
            raise Unauthenticated("The session has ended: sign in again.") from None
        return SignedIn(await self._token_out(user, session_id), new_refresh)

    async def logout(self, presented: str | None, principal: Principal | None, scope: Mapping[str, Any]) -> None:
        """End the session the refresh token (else the access token) names; idempotent."""
        session_id = await sessions.session_of_refresh(presented) if presented else None
        if session_id is None and principal is not None:
            session_id = principal.session_id
        if session_id is not None and await sessions.revoke_session(
            session_id, reason="logout", session_check=self.session_check
        ):
            await _audit_session_end(scope, session_id, "auth.logout", outcome="success")

    # The own account

    async def me(self, principal: Principal) -> UserOut:
        row = await User.select().where(User.id == principal.id).first()
        if row is None:
            raise not_found("user")
        return await user_out(row)

    async def update(self, principal: Principal, patch: UserPatch, scope: Mapping[str, Any]) -> UserOut:
        """``PATCH /users/me``, all or nothing (``users.update_account``)."""
        return await user_out(await update_account(principal, patch, scope=scope))

    async def change_password(self, principal: Principal, data: PasswordChangeIn, scope: Mapping[str, Any]) -> None:
        """Change the password (the current one first); every other session of the account ends."""
        ip = client_ip(scope)
        # A stolen access token must not become a password-guessing oracle.
        await self.throttles.check("password_change", principal.id, ip)
        row = await User.select(User.password_hash).where(User.id == principal.id).first()
        if row is None or not await verify_password(row["password_hash"], data.current_password):
            await self.throttles.failed("password_change", principal.id, ip)
            await _audit_password_change(principal, scope, "denied")
            raise invalid("current_password", "wrong password", detail="The current password is wrong.")
        await self.throttles.succeeded("password_change", principal.id, ip)
        await User.update({User.password_hash: await hash_password(data.new_password)}).where(User.id == principal.id)
        await sessions.revoke_user_sessions(
            principal.id, reason="password_change", keep=principal.session_id, session_check=self.session_check
        )
        await _audit_password_change(principal, scope, "success")

    # Helpers

    async def _open_password_session(self, user: dict[str, Any], scope: Mapping[str, Any], user_agent: str) -> SignedIn:
        """Open a password session: the access token, the user, and the refresh token."""
        session_id, refresh = await sessions.open_session(
            str(user["id"]),
            kind="password",
            refresh_days=self.settings.refresh_token_days,
            ip=client_ip(scope),
            user_agent=user_agent,
            max_hours=sessions.max_session_hours(self.settings, user["role"]),
        )
        await _audit_sign_in(scope, "success", attempted=str(user["id"]), user=user, session_id=session_id)
        assert refresh is not None
        return SignedIn(await self._token_out(user, session_id), refresh)

    async def _token_out(self, user: dict[str, Any], session_id: str) -> TokenOut:
        token, lifetime = issue_access_token(
            self.settings,
            user_id=str(user["id"]),
            role=user["role"],
            session_id=session_id,
            name=user["full_name"],
        )
        return TokenOut(access_token=token, expires_in=lifetime, user=await user_out(user))


async def _audit_sign_in(
    scope: Mapping[str, Any],
    outcome: str,
    *,
    attempted: str | None,
    user: dict[str, Any] | None = None,
    session_id: str = "",
    action: str = "auth.login",
) -> None:
    """``auth.login`` (``auth.token`` for bots): the actor once signed in; before that only the
    attempted account's id (when the email or client id names one), never the password or email."""
    await record(
        actor=account_actor(user, session_id) if user is not None else None,
        action=action,
        resource_type="account",
        resource_id=attempted,
        outcome=outcome,
        scope=scope,
    )


async def _audit_session_end(scope: Mapping[str, Any], session_id: str, action: str, outcome: str = "denied") -> None:
    """A session ended (logout, reuse, a limit): the actor is the account the session belongs to."""
    account = await sessions.account_of(session_id)
    await record(
        actor=account_actor(account, session_id) if account else None,
        action=action,
        resource_type="session",
        resource_id=session_id,
        outcome=outcome,
        scope=scope,
    )


async def _audit_password_change(principal: Principal, scope: Mapping[str, Any], outcome: str) -> None:
    await record(
        actor=principal,
        action="account.password_change",
        resource_type="account",
        resource_id=principal.id,
        outcome=outcome,
        scope=scope,
    )
