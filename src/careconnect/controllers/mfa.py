"""The signed-in user's second factor: status, TOTP enrolment and confirmation, disabling."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from careconnect.domain.accounts.deps import provide_mfa
from careconnect.domain.accounts.mfa import MfaService
from careconnect.domain.accounts.schemas import (
    MfaCodeIn,
    MfaDisableIn,
    MfaStatusOut,
    RecoveryCodesOut,
    TotpEnrolmentOut,
)
from careconnect.guards import current_principal, requires_person
from careconnect.openapi import problems


class MfaController(Controller):
    path = "/api/v1/users/me/mfa"
    tags = ["users"]
    guards = [requires_person]
    dependencies = {"mfa": Provide(provide_mfa, sync_to_thread=False)}

    @get("/", summary="Is a second factor active, and must this account have one", operation_id="mfa_status")
    async def status(self, request: Request[Any, Any, Any], mfa: MfaService) -> MfaStatusOut:
        return await mfa.status(current_principal(request))

    @post(
        "/totp",
        status_code=200,
        summary="Start TOTP enrolment: a new secret, active once confirmed",
        operation_id="mfa_enrol_totp",
        responses=problems(409),
    )
    async def enrol(self, request: Request[Any, Any, Any], mfa: MfaService) -> TotpEnrolmentOut:
        return await mfa.enrol(current_principal(request), request.scope)

    @post(
        "/totp/confirm",
        status_code=200,
        summary="Activate TOTP with a code; answers the 10 recovery codes once",
        operation_id="mfa_confirm_totp",
        responses=problems(409, 429),
    )
    async def confirm(
        self, request: Request[Any, Any, Any], data: JSONBody[MfaCodeIn], mfa: MfaService
    ) -> RecoveryCodesOut:
        return await mfa.confirm(current_principal(request), data.code, request.scope)

    @delete(
        "/totp",
        status_code=HTTP_204_NO_CONTENT,
        summary="Turn TOTP off (password and a code)",
        operation_id="mfa_disable_totp",
        responses=problems(409, 429),
    )
    async def disable(self, request: Request[Any, Any, Any], data: JSONBody[MfaDisableIn], mfa: MfaService) -> None:
        await mfa.disable(current_principal(request), data.password, data.code, request.scope)
