"""Admin: bot integrations, user listing and disabling, the audit log."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from careconnect.errors import ApiError
from careconnect.guards import current_principal, requires_admin
from careconnect.hub.bounds import TEXT_PATTERN as TEXT
from careconnect.instants import instant
from careconnect.pagination import clamp_limit, decode_time_cursor, encode_cursor
from careconnect.schemas import (
    AuditActor,
    AuditEntryOut,
    AuditPage,
    IntegrationIn,
    IntegrationOut,
    UserOut,
    UserPage,
)
from careconnect.security import hash_password
from careconnect.services import sessions
from careconnect.services.audit import record
from careconnect.services.users import create_user, parse_uuid, user_out
from careconnect.tables import AuditEntry, Integration, User


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
        bot = await create_user(
            email=f"{client_id}@bots.careconnect.invalid", password=None, full_name=data.name, role="bot"
        )
        await Integration(
            name=data.name,
            client_id=client_id,
            secret_hash=hash_password(secret),
            bot_user=bot["id"],
            created_by=admin.id,
            created_at=dt.datetime.now(dt.UTC),
        ).save()
        await record(
            actor=admin,
            action="integration.create",
            resource_type="integration",
            resource_id=client_id,
            outcome="success",
            scope=request.scope,
        )
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
        uid = parse_uuid(user_id, "user")
        row = await User.select().where(User.id == uid).first()
        if row is None:
            raise ApiError(404, "not_found", "No such user.")
        if str(row["id"]) == admin.id:
            raise ApiError(409, "conflict", "You cannot disable your own account.")
        if row["disabled_at"] is None:
            await User.update({User.disabled_at: dt.datetime.now(dt.UTC)}).where(User.id == uid)
        await sessions.revoke_user_sessions(uid, reason="disabled")
        await record(
            actor=admin,
            action="user.disable",
            resource_type="user",
            resource_id=uid,
            outcome="success",
            scope=request.scope,
        )
        disconnect = getattr(request.app.state, "disconnect_user", None)
        if disconnect is not None:
            await disconnect(uid)
        row = await User.select().where(User.id == uid).first()
        assert row is not None
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
