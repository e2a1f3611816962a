"""Admin: bot integrations, user listing, disabling and enabling, password reset mails, doctor vetting, the audit log.

The rules (and the audit entry of every write, refusals included) are ``AdminService``'s.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

from careconnect.domain.accounts.schemas import AcceptedOut, UserOut, UserPage, Verification
from careconnect.domain.admin.deps import provide_admin
from careconnect.domain.admin.schemas import IntegrationIn, IntegrationOut
from careconnect.domain.admin.service import AdminService
from careconnect.domain.audit.schemas import AuditPage
from careconnect.guards import current_principal, requires_admin
from careconnect.hub.bounds import TEXT_PATTERN as TEXT
from careconnect.openapi import problems


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]
    guards = [requires_admin]
    dependencies = {"admin": Provide(provide_admin, sync_to_thread=False)}

    @post(
        "/integrations",
        status_code=HTTP_201_CREATED,
        summary="Create a bot integration (secret shown once)",
        responses=problems(409),
    )
    async def create_integration(
        self, request: Request[Any, Any, Any], data: JSONBody[IntegrationIn], admin: AdminService
    ) -> IntegrationOut:
        return await admin.create_integration(current_principal(request), data, request.scope)

    @get("/users", summary="List users, newest first")
    async def list_users(
        self,
        admin: AdminService,
        role: Literal["patient", "doctor", "admin", "bot"] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> UserPage:
        return await admin.list_users(role, limit=limit, cursor=cursor)

    @post(
        "/users/{user_id:str}/disable",
        status_code=200,
        summary="Disable an account; ends its sessions at once",
        responses=problems(409),
    )
    async def disable_user(self, request: Request[Any, Any, Any], user_id: str, admin: AdminService) -> UserOut:
        return await admin.disable_user(current_principal(request), user_id, request.scope)

    @post(
        "/users/{user_id:str}/enable", status_code=200, summary="Re-enable a disabled account", responses=problems(409)
    )
    async def enable_user(self, request: Request[Any, Any, Any], user_id: str, admin: AdminService) -> UserOut:
        return await admin.enable_user(current_principal(request), user_id, request.scope)

    @post(
        "/users/{user_id:str}/password-reset",
        status_code=HTTP_202_ACCEPTED,
        summary="Mail the account a password reset link",
        responses=problems(409),
    )
    async def send_password_reset(
        self, request: Request[Any, Any, Any], user_id: str, admin: AdminService
    ) -> AcceptedOut:
        return await admin.send_password_reset(current_principal(request), user_id, request.scope)

    @get("/doctors", summary="Doctors by verification (pending: the review queue), longest waiting first")
    async def list_doctors(
        self,
        admin: AdminService,
        verification: Verification | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> UserPage:
        return await admin.doctors(verification, limit=limit, cursor=cursor)

    @post(
        "/doctors/{doctor_id:str}/approve",
        status_code=200,
        summary="Approve a doctor: listed, bookable",
        responses=problems(409),
    )
    async def approve_doctor(self, request: Request[Any, Any, Any], doctor_id: str, admin: AdminService) -> UserOut:
        return await admin.approve_doctor(current_principal(request), doctor_id, request.scope)

    @post(
        "/doctors/{doctor_id:str}/reject",
        status_code=200,
        summary="Reject a doctor: not listed, no patient data",
        responses=problems(409),
    )
    async def reject_doctor(self, request: Request[Any, Any, Any], doctor_id: str, admin: AdminService) -> UserOut:
        return await admin.reject_doctor(current_principal(request), doctor_id, request.scope)

    @get("/audit", summary="The audit log, newest first, filtered")
    async def audit(
        self,
        admin: AdminService,
        patient_id: str | None = None,
        actor_id: str | None = None,
        since: dt.datetime | None = None,
        action: Annotated[str | None, Parameter(max_length=100, pattern=TEXT)] = None,
        limit: int | None = Parameter(default=None),
        cursor: str | None = None,
    ) -> AuditPage:
        return await admin.audit(
            patient_id=patient_id, actor_id=actor_id, since=since, action=action, limit=limit, cursor=cursor
        )
