"""Admin: bot integrations, user listing, disabling and enabling, password reset mails, doctor vetting, the audit log.

Every write here is an audit entry (actor, action, resource, outcome, ip, request id), whatever
its outcome: a refused one is recorded as ``denied``, ``not_found``, ``conflict`` or ``invalid``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from careconnect.db import write_transaction
from careconnect.domain.accounts import recovery, sessions
from careconnect.domain.accounts.schemas import AcceptedOut, UserOut, UserPage, Verification
from careconnect.domain.accounts.users import create_user, parse_uuid, user_out
from careconnect.domain.admin import vetting
from careconnect.domain.admin.schemas import IntegrationIn, IntegrationOut
from careconnect.domain.audit.service import audit_page, record
from careconnect.domain.consultations.rooms import room_name
from careconnect.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, not_found
from careconnect.instants import instant
from careconnect.pagination import clamp_limit, decode_time_cursor, encode_cursor
from careconnect.security import hash_password
from careconnect.tables import Integration, User

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from piccolo.custom_types import Combinable

    from careconnect.domain.accounts.sessions import SessionCheck
    from careconnect.domain.audit.schemas import AuditPage
    from careconnect.domain.notifications.mailing import Mailer
    from careconnect.principal import Principal

# The audit outcome of a refused admin action.
_OUTCOMES: tuple[tuple[type[DomainError], str], ...] = (
    (Forbidden, "denied"),
    (NotFound, "not_found"),
    (Conflict, "conflict"),
    (Invalid, "invalid"),
)


@runtime_checkable
class LiveConnections(Protocol):
    """What admin asks of the realtime side, on every worker (``careconnect.events.Events`` does both)."""

    async def disconnect_user(self, user_id: str) -> None:
        """Close every socket of ``user_id`` (the account was disabled)."""

    async def evict(self, user_id: str, room: str) -> None:
        """Take ``user_id`` out of ``room`` (a doctor was rejected)."""


def _outcome_of(exc: DomainError) -> str:
    return next((outcome for kind, outcome in _OUTCOMES if isinstance(exc, kind)), "error")


async def _user_row(user_id: str) -> tuple[str, dict[str, Any]]:
    """The account's id and row, or 404 for an unknown or malformed id."""
    uid = parse_uuid(user_id, "user")
    row = await User.select().where(User.id == uid).first()
    if row is None:
        raise not_found("user")
    return uid, row


class AdminService:
    """The admin's actions; each write is audited with its outcome, refusals included."""

    def __init__(self, session_check: SessionCheck, events: LiveConnections, mailer: Mailer) -> None:
        self.session_check = session_check
        self.events = events
        self.mailer = mailer

    async def create_integration(
        self, admin: Principal, data: IntegrationIn, scope: Mapping[str, Any]
    ) -> IntegrationOut:
        """A bot user and its client credentials, in one transaction; the secret is shown only here."""
        client_id = "cc_" + secrets.token_hex(12)
        secret = secrets.token_urlsafe(32)
        secret_hash = await hash_password(secret)  # before the transaction: no lock is held while hashing

        # The bot user and its integration, or neither; on SQLite the write lock is taken first
        # (BEGIN IMMEDIATE), so the email check and the inserts after it cannot be refused as
        # "database is locked" when another writer commits in between.
        async with audited(scope, admin, "integration.create", "integration", client_id), write_transaction():
            bot = await create_user(
                email=f"{client_id}@bots.careconnect.invalid",
                password=None,
                full_name=data.name,
                role="bot",
                email_verified=True,
            )
            await Integration(
                name=data.name,
                client_id=client_id,
                secret_hash=secret_hash,
                bot_user=bot["id"],
                created_by=admin.id,
                created_at=dt.datetime.now(dt.UTC),
                scopes=sorted(set(data.scopes)),
            ).save()
        return IntegrationOut(
            client_id=client_id,
            client_secret=secret,
            name=data.name,
            bot_user_id=str(bot["id"]),
            scopes=sorted(set(data.scopes)),
        )

    async def list_users(self, role: str | None, *, limit: int | None, cursor: str | None) -> UserPage:
        """Users, newest first (creation time, then id)."""
        size = clamp_limit(limit)
        query = User.select().order_by(User.created_at, ascending=False).order_by(User.id, ascending=False)
        where: list[Combinable] = []
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

    async def disable_user(self, admin: Principal, user_id: str, scope: Mapping[str, Any]) -> UserOut:
        """Disable an account (never one's own): its sessions end and its sockets close at once."""
        async with audited(scope, admin, "user.disable", "user", user_id):
            uid, row = await _user_row(user_id)
            if str(row["id"]) == admin.id:
                raise Conflict("You cannot disable your own account.")
            if row["disabled_at"] is None:
                await User.update({User.disabled_at: dt.datetime.now(dt.UTC)}).where(User.id == uid)
            await sessions.revoke_user_sessions(uid, reason="disabled", session_check=self.session_check)
        await self.events.disconnect_user(uid)
        updated = await User.select().where(User.id == uid).first()
        assert updated is not None
        return await user_out(updated)

    async def enable_user(self, admin: Principal, user_id: str, scope: Mapping[str, Any]) -> UserOut:
        """Re-enable a disabled account (idempotent); it signs in again with its password."""
        async with audited(scope, admin, "user.enable", "user", user_id):
            uid, row = await _user_row(user_id)
            if row["disabled_at"] is not None:
                await User.update({User.disabled_at: None}).where(User.id == uid)
        updated = await User.select().where(User.id == uid).first()
        assert updated is not None
        return await user_out(updated)

    async def send_password_reset(self, admin: Principal, user_id: str, scope: Mapping[str, Any]) -> AcceptedOut:
        """Mail the account a reset link (it says an administrator asked); older links stop working."""
        async with audited(scope, admin, "user.password_reset", "user", user_id):
            uid, row = await _user_row(user_id)
            if row["role"] == "bot":
                raise Conflict("A bot has no password: rotate its integration's secret instead.")
            if row["disabled_at"] is not None:
                raise Conflict("The account is disabled: enable it first.")
            await recovery.queue_reset(self.mailer, row, requested_by_admin=True)
        return AcceptedOut(detail="A password reset link was mailed to the account's address (valid 30 minutes).")

    async def doctors(self, verification: Verification | None, *, limit: int | None, cursor: str | None) -> UserPage:
        """Doctors by verification (pending: the review queue), longest waiting first."""
        return await vetting.doctors_page(verification, limit=limit, cursor=cursor)

    async def approve_doctor(self, admin: Principal, doctor_id: str, scope: Mapping[str, Any]) -> UserOut:
        async with audited(scope, admin, "doctor.approve", "user", doctor_id):
            row = await vetting.decide(doctor_id, "approved")
        return await user_out(row)

    async def reject_doctor(self, admin: Principal, doctor_id: str, scope: Mapping[str, Any]) -> UserOut:
        """Reject a doctor: out of the directory, and out of every consultation room they are in."""
        async with audited(scope, admin, "doctor.reject", "user", doctor_id):
            row = await vetting.decide(doctor_id, "rejected")
        for appointment_id in await vetting.live_appointments_of(str(row["id"])):
            await self.events.evict(str(row["id"]), room_name(appointment_id))
        return await user_out(row)

    async def audit(
        self,
        *,
        patient_id: str | None,
        actor_id: str | None,
        since: dt.datetime | None,
        action: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> AuditPage:
        """The audit log, newest first; ids that are not UUIDs name nothing (404)."""
        size = clamp_limit(limit, default=50, maximum=500)
        return await audit_page(
            size=size,
            patient_id=parse_uuid(patient_id, "patient") if patient_id else None,
            actor_id=parse_uuid(actor_id, "actor") if actor_id else None,
            since=instant(since, "since", zone=False) if since else None,
            action=action,
            cursor=cursor,
        )


@asynccontextmanager
async def audited(
    scope: Mapping[str, Any], admin: Principal, action: str, resource_type: str, resource_id: str | None
) -> AsyncIterator[None]:
    """Record one audit entry for the admin action inside, with its outcome (refusals included)."""
    outcome = "success"
    try:
        yield
    except DomainError as exc:
        outcome = _outcome_of(exc)
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
            scope=scope,
        )
