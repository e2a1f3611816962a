"""The signed-in user's own account: read, edit, change password."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from careconnect.domain.accounts.deps import provide_accounts
from careconnect.domain.accounts.schemas import PasswordChangeIn, UserOut, UserPatch
from careconnect.domain.accounts.service import AccountsService
from careconnect.guards import current_principal, requires_auth
from careconnect.openapi import problems


class UsersController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    guards = [requires_auth]
    dependencies = {"accounts": Provide(provide_accounts, sync_to_thread=False)}

    @get("/me", summary="The signed-in user", operation_id="users_get_me", responses=problems(404))
    async def me(self, request: Request[Any, Any, Any], accounts: AccountsService) -> UserOut:
        return await accounts.me(current_principal(request))

    @patch(
        "/me",
        summary="Edit name, time zone, doctor profile or history sharing (all or nothing)",
        responses=problems(404, 409),
    )
    async def update_me(
        self, request: Request[Any, Any, Any], data: JSONBody[UserPatch], accounts: AccountsService
    ) -> UserOut:
        return await accounts.update(current_principal(request), data, request.scope)

    @post(
        "/me/password",
        status_code=HTTP_204_NO_CONTENT,
        summary="Change password; ends other sessions",
        responses=problems(429),
    )
    async def change_password(
        self, request: Request[Any, Any, Any], data: JSONBody[PasswordChangeIn], accounts: AccountsService
    ) -> None:
        await accounts.change_password(current_principal(request), data, request.scope)
