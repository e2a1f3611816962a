"""Registration, login, refresh-token rotation, logout and bot client credentials."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from careconnect.domain.accounts import mfa, sessions
from careconnect.domain.accounts.schemas import ClientCredentialsIn, LoginIn, MfaLoginIn, RegisterIn, TokenOut, UserOut
from careconnect.domain.accounts.throttle import Throttled, Throttles
from careconnect.domain.accounts.users import check_timezone, create_user, user_out
from careconnect.domain.audit.service import account_actor, client_ip, record
from careconnect.errors import ApiError, validation_error
from careconnect.security import issue_access_token, verify_password
from careconnect.settings import Settings
from careconnect.tables import Integration, User

REFRESH_COOKIE = "cc_refresh"
REFRESH_PATH = "/api/v1/auth"
_UNAUTHORIZED = "Wrong email or password."


def _refresh_cookie(settings: Settings, value: str, *, clear: bool = False) -> Cookie:
    return Cookie(
        key=REFRESH_COOKIE,
        value="" if clear else value,
        path=REFRESH_PATH,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        max_age=0 if clear else settings.refresh_token_days * 86400,
    )


def _token_response(settings: Settings, user: dict[str, Any], session_id: str) -> tuple[str, int]:
    return issue_access_token(
        settings,
        user_id=str(user["id"]),
        role=user["role"],
        session_id=session_id,
        name=user["full_name"],
    )


# Refresh failures that end a session, each an audit entry (``session.<reason>``).
_AUDITED_ENDINGS = frozenset({"refresh_reuse", "max_age", "idle"})


async def _audit_sign_in(
    request: Request[Any, Any, Any],
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
        scope=request.scope,
    )


async def _audit_session_end(
    request: Request[Any, Any, Any], session_id: str, action: str, outcome: str = "denied"
) -> None:
    """A session ended (logout, reuse, a limit): the actor is the account the session belongs to."""
    account = await sessions.account_of(session_id)
    await record(
        actor=account_actor(account, session_id) if account else None,
        action=action,
        resource_type="session",
        resource_id=session_id,
        outcome=outcome,
        scope=request.scope,
    )


async def _sign_in(request: Request[Any, Any, Any], settings: Settings, user: dict[str, Any]) -> Response[TokenOut]:
    """Open a password session: the access token, the user, and the refresh cookie."""
    session_id, refresh = await sessions.open_session(
        str(user["id"]),
        kind="password",
        refresh_days=settings.refresh_token_days,
        ip=client_ip(request.scope),
        user_agent=request.headers.get("user-agent", ""),
        max_hours=sessions.max_session_hours(settings, user["role"]),
    )
    await _audit_sign_in(request, "success", attempted=str(user["id"]), user=user, session_id=session_id)
    token, lifetime = _token_response(settings, user, session_id)
    body = TokenOut(access_token=token, expires_in=lifetime, user=await user_out(user))
    assert refresh is not None
    return Response(body, cookies=[_refresh_cookie(settings, refresh)])


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", status_code=HTTP_201_CREATED, summary="Create a patient or doctor account")
    async def register(self, data: JSONBody[RegisterIn], settings: NamedDependency[Settings]) -> UserOut:
        if data.role == "doctor":
            if settings.doctor_signup == "closed":
                raise ApiError(403, "forbidden", "Doctor accounts are created by an administrator here.")
            if data.doctor is None:
                raise validation_error("doctor", "doctor details (at least specialty) are required")
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

    @post("/login", status_code=200, summary="Sign in; sets the refresh cookie")
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginIn],
        settings: NamedDependency[Settings],
        throttles: NamedDependency[Throttles],
    ) -> Response[TokenOut]:
        email = data.email.strip().lower()
        ip = client_ip(request.scope)
        try:
            await throttles.check("login", email, ip)  # counted before the password is checked
        except Throttled:
            known = await User.select(User.id).where(User.email == email).first()
            await _audit_sign_in(request, "rate_limited", attempted=str(known["id"]) if known else None)
            raise
        user = await User.select().where(User.email == email).first()
        ok = verify_password(user["password_hash"] if user else None, data.password)
        if not ok or user is None or user["role"] == "bot":
            await throttles.failed("login", email, ip)
            await _audit_sign_in(request, "denied", attempted=str(user["id"]) if user else None)
            raise ApiError(401, "unauthorized", _UNAUTHORIZED)
        await throttles.succeeded("login", email, ip)
        if user["disabled_at"] is not None:
            await _audit_sign_in(request, "denied", attempted=str(user["id"]))
            raise ApiError(403, "forbidden", "This account has been disabled.")
        if user["mfa_enabled_at"] is not None:
            # The password was right; no session until POST /auth/login/mfa with a code.
            await _audit_sign_in(request, "mfa_required", attempted=str(user["id"]))
            raise ApiError(
                401,
                "mfa_required",
                "Enter the code from your authenticator app (or a recovery code).",
                extra={"mfa_token": await mfa.open_challenge(str(user["id"]))},
            )
        return await _sign_in(request, settings, user)

    @post("/login/mfa", status_code=200, summary="Second sign-in step: the mfa_token and a TOTP or recovery code")
    async def login_mfa(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MfaLoginIn],
        settings: NamedDependency[Settings],
        throttles: NamedDependency[Throttles],
    ) -> Response[TokenOut]:
        # Counted atomically per (account, address) before the code is checked, so concurrent guesses
        # on one mfa_token cannot outrun its own count of tries.
        # (A spent or unknown token gets its own 401 invalid_token: nothing to guess there.)
        subject, ip = await mfa.challenge_subject(data.mfa_token), client_ip(request.scope)
        if subject is not None:
            await throttles.check("mfa", subject, ip)
        user = await mfa.complete_challenge(settings, data.mfa_token, data.code, request.scope)
        if subject is not None:
            await throttles.succeeded("mfa", subject, ip)
        return await _sign_in(request, settings, user)

    @post("/refresh", status_code=200, summary="Rotate the refresh cookie; needs header X-CSRF: 1")
    async def refresh(self, request: Request[Any, Any, Any], settings: NamedDependency[Settings]) -> Response[TokenOut]:
        if request.headers.get("x-csrf") != "1":
            raise ApiError(403, "forbidden", "Send the header X-CSRF: 1 with a refresh.")
        presented = request.cookies.get(REFRESH_COOKIE)
        if not presented:
            raise ApiError(401, "unauthorized", "No refresh cookie: sign in again.")
        try:
            user, session_id, new_refresh = await sessions.rotate_refresh(
                presented, settings.refresh_token_days, idle_minutes=settings.session_idle_minutes
            )
        except sessions.RefreshFailure as failure:
            if failure.reason in _AUDITED_ENDINGS and failure.session_id is not None:
                await _audit_session_end(request, failure.session_id, f"session.{failure.reason}")
            response_error = ApiError(401, "unauthorized", "The session has ended: sign in again.")
            raise response_error from None
        token, lifetime = _token_response(settings, user, session_id)
        body = TokenOut(access_token=token, expires_in=lifetime, user=await user_out(user))
        return Response(body, cookies=[_refresh_cookie(settings, new_refresh)])

    @post("/logout", status_code=HTTP_204_NO_CONTENT, summary="End this session and clear the cookie")
    async def logout(self, request: Request[Any, Any, Any], settings: NamedDependency[Settings]) -> Response[None]:
        presented = request.cookies.get(REFRESH_COOKIE)
        session_id = await sessions.session_of_refresh(presented) if presented else None
        if session_id is None and request.scope.get("user") is not None:
            session_id = request.scope["user"].session_id
        if session_id is not None and await sessions.revoke_session(session_id, reason="logout"):
            await _audit_session_end(request, session_id, "auth.logout", outcome="success")
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[_refresh_cookie(settings, "", clear=True)])

    @post("/token", status_code=200, summary="Client credentials for bots (no refresh cookie)")
    async def token(
        self, request: Request[Any, Any, Any], data: JSONBody[ClientCredentialsIn], settings: NamedDependency[Settings]
    ) -> TokenOut:
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
        if not verify_password(row["secret_hash"] if row else None, data.client_secret) or row is None:
            await _audit_sign_in(request, "denied", attempted=attempted, action="auth.token")
            raise ApiError(401, "unauthorized", "Unknown client or wrong secret.")
        if row["disabled_at"] is not None:
            await _audit_sign_in(request, "denied", attempted=attempted, action="auth.token")
            raise ApiError(403, "forbidden", "This integration has been disabled.")
        user = await User.select().where(User.id == row["bot_user_id"]).first()
        assert user is not None
        session_id, _ = await sessions.open_session(
            str(user["id"]), kind="client", refresh_days=settings.refresh_token_days, ip=client_ip(request.scope)
        )
        await _audit_sign_in(
            request, "success", attempted=attempted, user=user, session_id=session_id, action="auth.token"
        )
        token, lifetime = _token_response(settings, user, session_id)
        return TokenOut(access_token=token, expires_in=lifetime, user=await user_out(user))
