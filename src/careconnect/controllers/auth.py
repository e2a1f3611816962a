"""Registration, login, refresh-token rotation, logout and bot client credentials."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from careconnect.domain.accounts.deps import provide_accounts, provide_recovery
from careconnect.domain.accounts.recovery import RecoveryService
from careconnect.domain.accounts.schemas import (
    AcceptedOut,
    ClientCredentialsIn,
    LoginIn,
    MfaLoginIn,
    PasswordResetIn,
    PasswordResetRequestIn,
    RegisterIn,
    TokenOut,
    UserOut,
    VerifyEmailIn,
)
from careconnect.domain.accounts.service import AccountsService, SignedIn
from careconnect.domain.errors import Forbidden
from careconnect.guards import current_principal
from careconnect.openapi import BEARER, REFRESH_CREDENTIAL, problems
from careconnect.principal import Principal
from careconnect.settings import Settings

REFRESH_COOKIE = "cc_refresh"
REFRESH_PATH = "/api/v1/auth"
# A readable twin of the refresh cookie that holds no secret ("1"): the web client asks for a
# refresh on page load only when it is there, so an anonymous page never logs a 401.
SESSION_HINT_COOKIE = "cc_session"
_SIGN_IN_PROBLEMS = problems(
    (401, "Wrong email or password, or a wrong or spent code."), (403, "This account has been disabled."), 429
)


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


def _session_hint_cookie(settings: Settings, *, clear: bool = False) -> Cookie:
    return Cookie(
        key=SESSION_HINT_COOKIE,
        value="" if clear else "1",
        path="/",
        httponly=False,
        secure=settings.cookie_secure,
        samesite="strict",
        max_age=0 if clear else settings.refresh_token_days * 86400,
    )


def _with_cookie(settings: Settings, signed_in: SignedIn) -> Response[TokenOut]:
    assert signed_in.refresh_token is not None
    cookies = [_refresh_cookie(settings, signed_in.refresh_token), _session_hint_cookie(settings)]
    return Response(signed_in.body, cookies=cookies)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    dependencies = {
        "accounts": Provide(provide_accounts, sync_to_thread=False),
        "recovery": Provide(provide_recovery, sync_to_thread=False),
    }

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        summary="Create a patient or doctor account",
        responses=problems(
            (403, "Doctor accounts are created by an administrator here."), (409, "That email already has an account.")
        ),
    )
    async def register(self, data: JSONBody[RegisterIn], accounts: AccountsService) -> UserOut:
        return await accounts.register(data)

    @post("/login", status_code=200, summary="Sign in; sets the refresh cookie", responses=_SIGN_IN_PROBLEMS)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginIn],
        settings: NamedDependency[Settings],
        accounts: AccountsService,
    ) -> Response[TokenOut]:
        signed_in = await accounts.login(data, request.scope, user_agent=request.headers.get("user-agent", ""))
        return _with_cookie(settings, signed_in)

    @post(
        "/login/mfa",
        status_code=200,
        summary="Second sign-in step: the mfa_token and a TOTP or recovery code",
        responses=_SIGN_IN_PROBLEMS,
    )
    async def login_mfa(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MfaLoginIn],
        settings: NamedDependency[Settings],
        accounts: AccountsService,
    ) -> Response[TokenOut]:
        signed_in = await accounts.login_mfa(data, request.scope, user_agent=request.headers.get("user-agent", ""))
        return _with_cookie(settings, signed_in)

    @post(
        "/refresh",
        status_code=200,
        summary="Rotate the refresh cookie; needs header X-CSRF: 1",
        security=[REFRESH_CREDENTIAL],
        responses=problems(
            (401, "No refresh cookie, or its session has ended: sign in again."),
            (403, "The X-CSRF: 1 header is missing."),
        ),
    )
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        accounts: AccountsService,
        x_csrf: Annotated[
            str | None,
            HeaderParameter(name="X-CSRF", description="Must be 1: proves the call is not a cross-site form."),
        ] = None,
    ) -> Response[TokenOut]:
        if x_csrf != "1":
            raise Forbidden("Send the header X-CSRF: 1 with a refresh.")
        signed_in = await accounts.refresh(request.cookies.get(REFRESH_COOKIE), request.scope)
        return _with_cookie(settings, signed_in)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        summary="End this session and clear the cookie",
        security=[REFRESH_CREDENTIAL, BEARER, {}],  # either, or neither (then only the cookie is cleared)
    )
    async def logout(
        self, request: Request[Any, Any, Any], settings: NamedDependency[Settings], accounts: AccountsService
    ) -> Response[None]:
        user = request.scope.get("user")
        principal = user if isinstance(user, Principal) else None
        await accounts.logout(request.cookies.get(REFRESH_COOKIE), principal, request.scope)
        cleared = [_refresh_cookie(settings, "", clear=True), _session_hint_cookie(settings, clear=True)]
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=cleared)

    @post(
        "/token",
        status_code=200,
        summary="Client credentials for bots (no refresh cookie)",
        responses=problems((401, "Unknown client or wrong secret."), (403, "This integration has been disabled.")),
    )
    async def token(
        self, request: Request[Any, Any, Any], data: JSONBody[ClientCredentialsIn], accounts: AccountsService
    ) -> TokenOut:
        return await accounts.client_token(data, request.scope)

    # issue 17: email verification and password reset (the rules are RecoveryService's)

    @post(
        "/verify-email/request",
        status_code=HTTP_202_ACCEPTED,
        summary="Mail me a link to confirm my email",
        security=[BEARER],
        responses=problems(429),
    )
    async def request_verification(self, request: Request[Any, Any, Any], recovery: RecoveryService) -> AcceptedOut:
        return await recovery.request_verification(current_principal(request), request.scope)

    @post("/verify-email", status_code=HTTP_204_NO_CONTENT, summary="Confirm the email with the mailed token")
    async def verify_email(
        self, request: Request[Any, Any, Any], data: JSONBody[VerifyEmailIn], recovery: RecoveryService
    ) -> None:
        await recovery.verify_email(data, request.scope)

    @post(
        "/password-reset/request",
        status_code=HTTP_202_ACCEPTED,
        summary="Mail a reset link; the same answer whether or not the email has an account",
        responses=problems(429),
    )
    async def request_password_reset(
        self, request: Request[Any, Any, Any], data: JSONBody[PasswordResetRequestIn], recovery: RecoveryService
    ) -> AcceptedOut:
        return await recovery.request_reset(data, request.scope)

    @post("/password-reset", status_code=HTTP_204_NO_CONTENT, summary="Set a new password; ends every session")
    async def reset_password(
        self, request: Request[Any, Any, Any], data: JSONBody[PasswordResetIn], recovery: RecoveryService
    ) -> None:
        await recovery.reset_password(data, request.scope)
