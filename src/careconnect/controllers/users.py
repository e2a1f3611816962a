"""The signed-in user's own account: read, edit, change password."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from careconnect.domain.accounts import sessions
from careconnect.domain.accounts.schemas import PasswordChangeIn, UserOut, UserPatch
from careconnect.domain.accounts.throttle import Throttles
from careconnect.domain.accounts.users import update_account, user_out
from careconnect.domain.audit.service import client_ip, record
from careconnect.errors import ApiError
from careconnect.guards import current_principal, requires_auth
from careconnect.security import hash_password, verify_password
from careconnect.tables import User


async def _own_account(user_id: str) -> UserOut:
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise ApiError(404, "not_found", "No such user.")
    return await user_out(row)


async def _audit_password_change(request: Request[Any, Any, Any], outcome: str) -> None:
    principal = current_principal(request)
    await record(
        actor=principal,
        action="account.password_change",
        resource_type="account",
        resource_id=principal.id,
        outcome=outcome,
        scope=request.scope,
    )


class UsersController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    guards = [requires_auth]

    @get("/me", summary="The signed-in user")
    async def me(self, request: Request[Any, Any, Any]) -> UserOut:
        return await _own_account(current_principal(request).id)

    @patch("/me", summary="Edit name, time zone, doctor profile or history sharing (all or nothing)")
    async def update_me(self, request: Request[Any, Any, Any], data: JSONBody[UserPatch]) -> UserOut:
        return await user_out(await update_account(current_principal(request), data, scope=request.scope))

    @post("/me/password", status_code=HTTP_204_NO_CONTENT, summary="Change password; ends other sessions")
    async def change_password(
        self, request: Request[Any, Any, Any], data: JSONBody[PasswordChangeIn], throttles: NamedDependency[Throttles]
    ) -> None:
        principal = current_principal(request)
        ip = client_ip(request.scope)
        # A stolen access token must not become a password-guessing oracle.
        await throttles.check("password_change", principal.id, ip)
        row = await User.select(User.password_hash).where(User.id == principal.id).first()
        if row is None or not verify_password(row["password_hash"], data.current_password):
            await throttles.failed("password_change", principal.id, ip)
            await _audit_password_change(request, "denied")
            raise ApiError(
                422,
                "validation_error",
                "The current password is wrong.",
                errors=[{"field": "current_password", "message": "wrong password"}],
            )
        await throttles.succeeded("password_change", principal.id, ip)
        await User.update({User.password_hash: hash_password(data.new_password)}).where(User.id == principal.id)
        await sessions.revoke_user_sessions(principal.id, reason="password_change", keep=principal.session_id)
        await _audit_password_change(request, "success")
