"""The signed-in user's second factor: status, TOTP enrolment and confirmation, disabling."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from careconnect.domain.accounts import mfa
from careconnect.domain.accounts.schemas import (
    MfaCodeIn,
    MfaDisableIn,
    MfaStatusOut,
    RecoveryCodesOut,
    TotpEnrolmentOut,
)
from careconnect.domain.accounts.throttle import Throttles
from careconnect.domain.audit.service import client_ip
from careconnect.guards import current_principal, requires_person
from careconnect.settings import Settings
from careconnect.tables import User


class MfaController(Controller):
    path = "/api/v1/users/me/mfa"
    tags = ["users"]
    guards = [requires_person]

    @get("/", summary="Is a second factor active, and must this account have one")
    async def status(self, request: Request[Any, Any, Any], settings: NamedDependency[Settings]) -> MfaStatusOut:
        principal = current_principal(request)
        row = await User.select(User.mfa_enabled_at).where(User.id == principal.id).first()
        enabled = row is not None and row["mfa_enabled_at"] is not None
        return MfaStatusOut(
            enabled=enabled,
            required=principal.role in settings.mfa_required_roles,
            recovery_codes_left=await mfa.recovery_codes_left(principal.id) if enabled else 0,
        )

    @post("/totp", status_code=200, summary="Start TOTP enrolment: a new secret, active once confirmed")
    async def enrol(self, request: Request[Any, Any, Any], settings: NamedDependency[Settings]) -> TotpEnrolmentOut:
        secret, uri = await mfa.start_enrolment(settings, current_principal(request).id, request.scope)
        return TotpEnrolmentOut(secret=secret, otpauth_uri=uri)

    @post("/totp/confirm", status_code=200, summary="Activate TOTP with a code; answers the 10 recovery codes once")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MfaCodeIn],
        settings: NamedDependency[Settings],
        throttles: NamedDependency[Throttles],
    ) -> RecoveryCodesOut:
        user_id, ip = current_principal(request).id, client_ip(request.scope)
        await throttles.check("mfa", user_id, ip)
        codes = await mfa.confirm_enrolment(settings, user_id, data.code, request.scope)
        await throttles.succeeded("mfa", user_id, ip)
        return RecoveryCodesOut(recovery_codes=codes)

    @delete("/totp", status_code=HTTP_204_NO_CONTENT, summary="Turn TOTP off (password and a code)")
    async def disable(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MfaDisableIn],
        settings: NamedDependency[Settings],
        throttles: NamedDependency[Throttles],
    ) -> None:
        user_id, ip = current_principal(request).id, client_ip(request.scope)
        await throttles.check("mfa", user_id, ip)
        await mfa.disable(settings, user_id, data.password, data.code, request.scope)
        await throttles.succeeded("mfa", user_id, ip)
