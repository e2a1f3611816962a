"""The signed-in user's own account: read, edit, change password."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from careconnect.errors import ApiError
from careconnect.guards import current_principal, requires_auth
from careconnect.schemas import PasswordChangeIn, UserOut, UserPatch
from careconnect.security import hash_password, verify_password
from careconnect.services import sessions
from careconnect.services.audit import record
from careconnect.services.users import check_timezone, user_out
from careconnect.tables import DoctorProfile, User


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

    @patch("/me", summary="Edit name, time zone and doctor profile")
    async def update_me(self, request: Request[Any, Any, Any], data: JSONBody[UserPatch]) -> UserOut:
        principal = current_principal(request)
        values: dict[Any, Any] = {}
        if data.full_name is not None:
            values[User.full_name] = data.full_name.strip()
        if data.timezone is not None:
            values[User.timezone] = check_timezone(data.timezone)
        if values:
            await User.update(values).where(User.id == principal.id)
        if data.doctor is not None:
            if principal.role != "doctor":
                raise ApiError(
                    422,
                    "validation_error",
                    "Only doctors have a doctor profile.",
                    errors=[{"field": "doctor", "message": "only for doctor accounts"}],
                )
            doctor_values: dict[Any, Any] = {}
            for field in ("specialty", "bio", "languages", "license_number"):
                value = getattr(data.doctor, field)
                if value is not None:
                    doctor_values[getattr(DoctorProfile, field)] = value
            if doctor_values:
                await DoctorProfile.update(doctor_values).where(DoctorProfile.user == principal.id)
        return await _own_account(principal.id)

    @post("/me/password", status_code=HTTP_204_NO_CONTENT, summary="Change password; ends other sessions")
    async def change_password(self, request: Request[Any, Any, Any], data: JSONBody[PasswordChangeIn]) -> None:
        principal = current_principal(request)
        row = await User.select(User.password_hash).where(User.id == principal.id).first()
        if row is None or not verify_password(row["password_hash"], data.current_password):
            await _audit_password_change(request, "denied")
            raise ApiError(
                422,
                "validation_error",
                "The current password is wrong.",
                errors=[{"field": "current_password", "message": "wrong password"}],
            )
        await User.update({User.password_hash: hash_password(data.new_password)}).where(User.id == principal.id)
        await sessions.revoke_user_sessions(principal.id, reason="password_change", keep=principal.session_id)
        await _audit_password_change(request, "success")
