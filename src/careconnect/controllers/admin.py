"""Admin: bot integrations, user listing and disabling, doctor vetting, the audit log.

Every write here is an audit entry (actor, action, resource, outcome, ip, request id), whatever
its outcome: a refused one is recorded as ``not_found``, ``conflict`` or ``invalid``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from careconnect.domain.accounts import sessions
from careconnect.domain.accounts.schemas import (
    AuditActor,
    AuditEntryOut,
    AuditPage,
    IntegrationIn,
    IntegrationOut,
    UserOut,
    UserPage,
    Verification,
)
from careconnect.domain.accounts.users import create_user, parse_uuid, user_out
from careconnect.domain.admin import vetting
from careconnect.domain.audit.service import record
from careconnect.domain.consultations.rooms import room_name
from careconnect.errors import ApiError
from careconnect.guards import current_principal, requires_admin
from careconnect.hub.bounds import TEXT_PATTERN as TEXT
from careconnect.instants import instant
from careconnect.pagination import clamp_limit, decode_time_cursor, encode_cursor
from careconnect.security import hash_password
from careconnect.tables import AuditEntry, Integration, User

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from careconnect.principal import Principal

_OUTCOMES = {403: "denied", 404: "not_found", 409: "conflict", 422: "invalid"}


@asynccontextmanager
async def _audited(
    request: Request[Any, Any, Any], admin: Principal, action: str, resource_type: str, resource_id: str | None
) -> AsyncIterator[None]:
    """Record one audit entry for the admin action inside, with its outcome (refusals included)."""
    outcome = "success"
    try:
        yield
    except ApiError as exc:
        outcome = _OUTCOMES.get(exc.status_code, "error")
        raise
    except Exception:
        outcome = "error"
        raise
    finally:
        await record(
            actor=admin,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id[:200] if resource_id else None,
            outcome=outcome,
            scope=request.scope,
        )


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]
    guards = [requires_admin]

    @post("/integrations", status_code=HTTP_201_CREATED, summary="Create a bot integration (secret shown once)")
    async def create_integration(
        self, request: Request[Any, Any, Any], data: JSONBody[IntegrationIn]
    ) -> IntegrationOut:
        admin = current_principal(request)
        client_id = "cc_" + secrets.token_hex(12)
        secret = secrets.token_urlsafe(32)
        secret_hash = hash_password(secret)  # before the transaction: no lock is held while hashing
        async with _audited(request, admin, "integration.create", "integration", client_id):
            engine = Integration._meta.db
            async with engine.transaction():  # the bot user and its integration, or neither
                bot = await create_user(
                    email=f"{client_id}@bots.careconnect.invalid", password=None, full_name=data.name, role="bot"
                )
                await Integration(
                    name=data.name,
                    client_id=client_id,
                    secret_hash=secret_hash,
                    bot_user=bot["id"],
                    created_by=admin.id,
                    created_at=dt.datetime.now(dt.UTC),
                ).save()
        return IntegrationOut(client_id=client_id, client_secret=secret, name=data.name, bot_user_id=str(bot["id"]))

    @get("/users", summary="List users, newest first")
    async def list_users(
        self,
        role: Literal["patient", "doctor", "admin", "bot"] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> UserPage:
        size = clamp_limit(limit)
        query = User.select().order_by(User.created_at, ascending=False).order_by(User.id, ascending=False)
        where: list[Any] = []
        if role:
            where.append(User.role == role)
        if cursor:
            at, last_id = decode_time_cursor(cursor)
            where.append((User.created_at < at) | ((User.created_at == at) & (User.id < last_id)))
        for clause in where:
            query = query.where(clause)
        rows = await query.limit(size + 1)
        items = [await user_out(row) for row in rows[:size]]
        next_cursor = None
        if len(rows) > size:
            last = rows[size - 1]
            next_cursor = encode_cursor(last["created_at"].isoformat(), str(last["id"]))
        return UserPage(items=items, next_cursor=next_cursor)

    @post("/users/{user_id:str}/disable", status_code=200, summary="Disable an account; ends its sessions at once")
    async def disable_user(self, request: Request[Any, Any, Any], user_id: str) -> UserOut:
        admin = current_principal(request)
        async with _audited(request, admin, "user.disable", "user", user_id):
            uid = parse_uuid(user_id, "user")
            row = await User.select().where(User.id == uid).first()
            if row is None:
                raise ApiError(404, "not_found", "No such user.")
            if str(row["id"]) == admin.id:
                raise ApiError(409, "conflict", "You cannot disable your own account.")
            if row["disabled_at"] is None:
                await User.update({User.disabled_at: dt.datetime.now(dt.UTC)}).where(User.id == uid)
            await sessions.revoke_user_sessions(uid, reason="disabled")
        disconnect = getattr(request.app.state, "disconnect_user", None)
        if disconnect is not None:
            await disconnect(uid)
        row = await User.select().where(User.id == uid).first()
        assert row is not None
        return await user_out(row)

    @get("/doctors", summary="Doctors by verification (pending: the review queue), longest waiting first")
    async def list_doctors(
        self,
        verification: Verification | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> UserPage:
        return await vetting.doctors_page(verification, limit=limit, cursor=cursor)

    @post("/doctors/{doctor_id:str}/approve", status_code=200, summary="Approve a doctor: listed, bookable")
    async def approve_doctor(self, request: Request[Any, Any, Any], doctor_id: str) -> UserOut:
        admin = current_principal(request)
        async with _audited(request, admin, "doctor.approve", "user", doctor_id):
            row = await vetting.decide(doctor_id, "approved")
        return await user_out(row)

    @post("/doctors/{doctor_id:str}/reject", status_code=200, summary="Reject a doctor: not listed, no patient data")
    async def reject_doctor(self, request: Request[Any, Any, Any], doctor_id: str) -> UserOut:
        admin = current_principal(request)
        async with _audited(request, admin, "doctor.reject", "user", doctor_id):
            row = await vetting.decide(doctor_id, "rejected")
        evict = getattr(request.app.state, "evict_from_room", None)
        if evict is not None:  # out of every consultation room they are in, on every worker
            for appointment_id in await vetting.live_appointments_of(str(row["id"])):
                await evict(str(row["id"]), room_name(appointment_id))
        return await user_out(row)

    @get("/audit", summary="The audit log, newest first, filtered")
    async def audit(
        self,
        patient_id: str | None = None,
        actor_id: str | None = None,
        since: dt.datetime | None = None,
        action: Annotated[str | None, Parameter(max_length=100, pattern=TEXT)] = None,
        limit: int | None = Parameter(default=None),
        cursor: str | None = None,
    ) -> AuditPage:
        size = clamp_limit(limit, default=50, maximum=500)
        query = AuditEntry.select().order_by(AuditEntry.at, ascending=False).order_by(AuditEntry.id, ascending=False)
        if patient_id:
            query = query.where(AuditEntry.patient_id == parse_uuid(patient_id, "patient"))
        if actor_id:
            query = query.where(AuditEntry.actor_id == parse_uuid(actor_id, "actor"))
        if since:
            query = query.where(AuditEntry.at >= instant(since, "since", zone=False))
        if action:
            query = query.where(AuditEntry.action == action)
        if cursor:
            at, last_id = decode_time_cursor(cursor)
            query = query.where((AuditEntry.at < at) | ((AuditEntry.at == at) & (AuditEntry.id < last_id)))
        rows = await query.limit(size + 1)
        items = [
            AuditEntryOut(
                id=str(r["id"]),
                at=r["at"],
                actor=AuditActor(id=str(r["actor_id"]) if r["actor_id"] else None, role=r["actor_role"]),
                action=r["action"],
                resource_type=r["resource_type"],
                resource_id=r["resource_id"],
                patient_id=str(r["patient_id"]) if r["patient_id"] else None,
                outcome=r["outcome"],
                ip=r["ip"],
                request_id=r["request_id"],
            )
            for r in rows[:size]
        ]
        next_cursor = None
        if len(rows) > size:
            last = rows[size - 1]
            next_cursor = encode_cursor(last["at"].isoformat(), str(last["id"]))
        return AuditPage(items=items, next_cursor=next_cursor)
