"""Authentication middleware and the role guards every route uses.

The middleware turns a valid ``Authorization: Bearer`` access token into a ``Principal`` on
``request.user`` (anonymous requests get ``None``); guards then say who may call a route. It is
given the settings and the app's ``SessionCheck`` when ``create_app`` declares it
(``DefineMiddleware(BearerAuthMiddleware, settings=..., session_check=...)``).
Ownership is checked by explicit queries in the services ("appointment where id = ? and
patient = me"), which answer 404 for other people's resources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from careconnect.domain.accounts.sessions import SessionStatus
from careconnect.errors import ApiError
from careconnect.principal import Principal
from careconnect.request_context import set_user_id
from careconnect.security import InvalidToken, decode_access_token

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar.connection import ASGIConnection
    from litestar.handlers import BaseRouteHandler
    from litestar.types import ASGIApp

    from careconnect.domain.accounts.sessions import SessionCheck
    from careconnect.settings import Settings

    Guard: TypeAlias = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


async def principal_from_token(settings: Settings, session_check: SessionCheck, token: str) -> Principal:
    """Verify an access token and its session; raises ``InvalidToken`` or ``AccountDisabled``."""
    claims = decode_access_token(settings, token)
    session = await session_check.account(claims.sid)
    if session.status is SessionStatus.revoked:
        raise InvalidToken("session revoked")
    # The session must be the token subject's, and the role is the account's (a signed token
    # naming another user's session, or a role the account does not have, is refused).
    if session.user_id != claims.sub or session.role != claims.role:
        raise InvalidToken("the token does not match its session's account")
    if session.status is SessionStatus.disabled:
        raise AccountDisabled()
    return Principal(
        id=session.user_id,
        role=session.role,
        name=claims.name,
        session_id=claims.sid,
        expires_at=claims.exp,
        needs_mfa_enrolment=needs_mfa_enrolment(settings, session.role, session.mfa_active),
    )


def needs_mfa_enrolment(settings: Settings, role: str, mfa_active: bool) -> bool:
    """MFA_REQUIRED_ROLES names this role and the account has no active factor (bots: never)."""
    return role != "bot" and role in settings.mfa_required_roles and not mfa_active


# What an account that must enrol a second factor may still reach (everything else: 403).
_MFA_ENROLMENT_OPEN = {("GET", "/api/v1/users/me"), ("PATCH", "/api/v1/users/me")}
_MFA_ENROLMENT_OPEN_PREFIXES = ("/api/v1/users/me/mfa/", "/api/v1/auth/logout/", "/api/v1/auth/refresh/")


def mfa_enrolment_allows(method: str, path: str) -> bool:
    path = path.rstrip("/") or "/"
    return (method, path) in _MFA_ENROLMENT_OPEN or (path + "/").startswith(_MFA_ENROLMENT_OPEN_PREFIXES)


class AccountDisabled(Exception):
    """The account behind a token was disabled by an admin."""


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        session_check: SessionCheck,
        exclude: str | list[str] | None = None,
    ) -> None:
        super().__init__(app, exclude=exclude)
        self.settings = settings
        self.session_check = session_check

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return AuthenticationResult(user=None, auth=None)
        try:
            principal = await principal_from_token(self.settings, self.session_check, token.strip())
        except (InvalidToken, AccountDisabled):
            return AuthenticationResult(user=None, auth="invalid")
        set_user_id(connection.scope, principal.id)
        if principal.needs_mfa_enrolment and not mfa_enrolment_allows(
            str(connection.scope.get("method", "")), connection.scope["path"]
        ):
            raise ApiError(
                403,
                "mfa_enrollment_required",
                "Your role must use a second factor: set it up under /account/security "
                "(POST /api/v1/users/me/mfa/totp), then try again.",
            )
        return AuthenticationResult(user=principal, auth=token)


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        if connection.scope.get("auth") == "invalid":
            raise NotAuthorizedException("The access token is invalid, expired or revoked.")
        raise NotAuthorizedException("Sign in first.")
    return user


def _requires(*roles: str) -> Guard:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = current_principal(connection)
        if roles and principal.role not in roles:
            raise PermissionDeniedException(f"Only {' or '.join(roles)} accounts may do this.")

    guard.__name__ = "requires_" + "_or_".join(roles or ("auth",))
    return guard


requires_auth = _requires()
requires_patient = _requires("patient")
requires_doctor = _requires("doctor")
requires_admin = _requires("admin")
requires_person = _requires("patient", "doctor", "admin")
