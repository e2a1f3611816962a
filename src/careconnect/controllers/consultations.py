"""The consultation: lifecycle (check-in, admit, complete, no-show), messages, notes, summary,
invited bots, and a doctor's view of a patient's history with them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from msgspec import Meta

from careconnect.domain.appointments import state as appointment_state
from careconnect.domain.appointments.service import appointment_out
from careconnect.domain.audit.service import patient_of_appointment, record
from careconnect.domain.consultations import clinical_docs
from careconnect.domain.consultations.chat_store import SEQ_MAX
from careconnect.domain.consultations.rooms import Membership, membership, room_name
from careconnect.errors import ApiError
from careconnect.events import events_of
from careconnect.guards import current_principal, requires_auth
from careconnect.hub.bounds import MAX_COUNT
from careconnect.hub.bounds import TEXT_PATTERN as TEXT
from careconnect.principal import Principal
from careconnect.tables import ChatMessage, ConsultationNote, ConsultationSummary, Integration, RoomBot

CHECK_IN_OPENS = dt.timedelta(minutes=15)
NO_SHOW_AFTER = dt.timedelta(minutes=10)


class Sender(msgspec.Struct):
    id: str
    role: str
    name: str


class MessageFrame(msgspec.Struct, kw_only=True):
    type: str = "message"
    room: str
    seq: int
    id: str
    sender: Sender
    body: str
    ts: str


class MessagePage(msgspec.Struct, kw_only=True):
    items: list[MessageFrame]
    has_more: bool


class InviteIn(msgspec.Struct, kw_only=True):
    client_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=TEXT)]


class Participant(msgspec.Struct, kw_only=True):
    client_id: str
    bot_user_id: str
    name: str
    invited_at: dt.datetime


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def _member(request: Request[Any, Any, Any], appointment_id: str, action: str, *roles: str) -> Membership:
    """The caller's membership, or 404 (audited) when they have none or the wrong one."""
    principal = current_principal(request)
    found = await membership(principal, appointment_id)
    if found is None or (roles and found.as_role not in roles):
        await record(
            actor=principal,
            action=action,
            resource_type="consultation",
            resource_id=appointment_id[:200],
            outcome="not_found",
            patient_id=found.patient_id if found else await patient_of_appointment(appointment_id),
            scope=request.scope,
        )
        raise ApiError(404, "not_found", "No such consultation.")
    return found


async def _audit(request: Request[Any, Any, Any], member: Membership, action: str, resource: str, outcome: str) -> None:
    await record(
        actor=current_principal(request),
        action=action,
        resource_type=resource,
        resource_id=member.appointment_id,
        outcome=outcome,
        patient_id=member.patient_id,
        scope=request.scope,
    )


async def _changed(request: Request[Any, Any, Any], member: Membership, new_status: str) -> Any:
    appointment = await appointment_out(member.appointment_id)
    events = events_of(request)
    await events.room_state_changed(member.appointment_id, new_status)
    await events.appointment_changed(appointment, [member.patient_id, member.doctor_id])
    return appointment


class ConsultationController(Controller):
    path = "/api/v1/consultations"
    tags = ["consultations"]
    guards = [requires_auth]

    @post("/{consultation_id:str}/check-in", status_code=200, summary="Patient enters the waiting room")
    async def check_in(self, request: Request[Any, Any, Any], consultation_id: str) -> Any:
        member = await _member(request, consultation_id, "consultation.check_in", "patient")
        now = dt.datetime.now(dt.UTC)
        if member.status == "booked" and now < member.starts_at - CHECK_IN_OPENS:
            raise ApiError(409, "invalid_state", "Check-in opens 15 minutes before the appointment starts.")
        await appointment_state.transition(member.appointment_id, "checked_in")
        return await _changed(request, member, "checked_in")

    @post("/{consultation_id:str}/start", status_code=200, summary="Doctor admits the patient")
    async def start(self, request: Request[Any, Any, Any], consultation_id: str) -> Any:
        member = await _member(request, consultation_id, "consultation.start", "doctor")
        await appointment_state.transition(member.appointment_id, "in_progress")
        return await _changed(request, member, "in_progress")

    @post("/{consultation_id:str}/complete", status_code=200, summary="Doctor ends the visit; the room turns read-only")
    async def complete(self, request: Request[Any, Any, Any], consultation_id: str) -> Any:
        member = await _member(request, consultation_id, "consultation.complete", "doctor")
        await appointment_state.transition(member.appointment_id, "completed")
        return await _changed(request, member, "completed")

    @post("/{consultation_id:str}/no-show", status_code=200, summary="Doctor marks a no-show (10 min after start)")
    async def no_show(self, request: Request[Any, Any, Any], consultation_id: str) -> Any:
        member = await _member(request, consultation_id, "consultation.no_show", "doctor")
        if dt.datetime.now(dt.UTC) < member.starts_at + NO_SHOW_AFTER:
            raise ApiError(409, "invalid_state", "A no-show can be recorded from 10 minutes after the start.")
        await appointment_state.transition(member.appointment_id, "no_show")
        return await _changed(request, member, "no_show")

    @get("/{consultation_id:str}/messages", summary="The room's stored messages, paged by seq")
    async def messages(
        self,
        request: Request[Any, Any, Any],
        consultation_id: str,
        after_seq: Annotated[int | None, Parameter(ge=0, le=MAX_COUNT)] = None,
        before_seq: Annotated[int | None, Parameter(ge=1, le=MAX_COUNT)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> MessagePage:
        member = await _member(request, consultation_id, "messages.read")
        room = room_name(member.appointment_id)
        query = ChatMessage.select().where(ChatMessage.room == room)
        # Up to 2^53 is accepted; the INTEGER column holds less, so larger bounds are clamped to it.
        if after_seq is not None:
            query = query.where(ChatMessage.seq > min(after_seq, SEQ_MAX))
        if before_seq is not None and before_seq <= SEQ_MAX:
            query = query.where(ChatMessage.seq < before_seq)
        # Newest first when paging backwards (before_seq) or by default, oldest first after a seq.
        ascending = after_seq is not None
        rows = await query.order_by(ChatMessage.seq, ascending=ascending).limit(limit + 1)
        has_more = len(rows) > limit
        rows = sorted(rows[:limit], key=lambda r: r["seq"])
        await _audit(request, member, "messages.read", "messages", "success")
        return MessagePage(
            items=[
                MessageFrame(
                    room=room,
                    seq=r["seq"],
                    id=r["client_id"],
                    sender=Sender(id=r["sender_id"], role=r["sender_role"], name=r["sender_name"]),
                    body=r["body"],
                    ts=_ts(r["created_at"]),
                )
                for r in rows
            ],
            has_more=has_more,
        )

    @get("/{consultation_id:str}/notes", summary="The doctor's private notes (the doctor only)")
    async def read_notes(self, request: Request[Any, Any, Any], consultation_id: str) -> clinical_docs.DocumentOut:
        member = await _member(request, consultation_id, "notes.read", "doctor")
        document = await clinical_docs.read(ConsultationNote, member.appointment_id)
        await _audit(request, member, "notes.read", "notes", "success")
        return document

    @put("/{consultation_id:str}/notes", summary="Save private notes (send the version you edited)")
    async def write_notes(
        self,
        request: Request[Any, Any, Any],
        consultation_id: str,
        data: JSONBody[clinical_docs.DocumentIn],
    ) -> clinical_docs.DocumentOut:
        member = await _member(request, consultation_id, "notes.write", "doctor")
        return await _save(request, member, ConsultationNote, "notes", "doctor", data)

    @get("/{consultation_id:str}/summary", summary="The visit summary (doctor and patient)")
    async def read_summary(self, request: Request[Any, Any, Any], consultation_id: str) -> clinical_docs.DocumentOut:
        member = await _member(request, consultation_id, "summary.read", "doctor", "patient")
        document = await clinical_docs.read(ConsultationSummary, member.appointment_id)
        await _audit(request, member, "summary.read", "summary", "success")
        return document

    @put("/{consultation_id:str}/summary", summary="Write the visit summary (the doctor)")
    async def write_summary(
        self,
        request: Request[Any, Any, Any],
        consultation_id: str,
        data: JSONBody[clinical_docs.DocumentIn],
    ) -> clinical_docs.DocumentOut:
        member = await _member(request, consultation_id, "summary.write", "doctor", "patient")
        if member.as_role != "doctor":
            await _audit(request, member, "summary.write", "summary", "denied")
            raise ApiError(403, "forbidden", "Only the doctor writes the summary.")
        return await _save(request, member, ConsultationSummary, "summary", "author", data)

    @get("/{consultation_id:str}/participants", summary="Bots invited to the room (the doctor)")
    async def participants(self, request: Request[Any, Any, Any], consultation_id: str) -> list[Participant]:
        member = await _member(request, consultation_id, "participants.read", "doctor")
        rows = await RoomBot.select(
            RoomBot.client_id, RoomBot.bot_user, RoomBot.invited_at, RoomBot.bot_user.full_name.as_alias("name")
        ).where(RoomBot.appointment == member.appointment_id)
        return [
            Participant(
                client_id=r["client_id"], bot_user_id=str(r["bot_user"]), name=r["name"], invited_at=r["invited_at"]
            )
            for r in rows
        ]

    @post("/{consultation_id:str}/participants", status_code=201, summary="Invite a bot into the room (the doctor)")
    async def invite(
        self, request: Request[Any, Any, Any], consultation_id: str, data: JSONBody[InviteIn]
    ) -> Participant:
        member = await _member(request, consultation_id, "participants.invite", "doctor")
        integration = (
            await Integration.select(
                Integration.id, Integration.bot_user, Integration.bot_user.full_name.as_alias("name")
            )
            .where(Integration.client_id == data.client_id)
            .first()
        )
        if integration is None:
            raise ApiError(
                422,
                "validation_error",
                "No integration has that client id.",
                errors=[{"field": "client_id", "message": "unknown client id"}],
            )
        existing = (
            await RoomBot.select(RoomBot.invited_at)
            .where((RoomBot.appointment == member.appointment_id) & (RoomBot.client_id == data.client_id))
            .first()
        )
        invited_at = existing["invited_at"] if existing else dt.datetime.now(dt.UTC)
        if existing is None:
            await RoomBot(
                appointment=member.appointment_id,
                integration=integration["id"],
                bot_user=integration["bot_user"],
                client_id=data.client_id,
                invited_by=current_principal(request).id,
                invited_at=invited_at,
            ).save()
        await _audit(request, member, "participants.invite", "participants", "success")
        return Participant(
            client_id=data.client_id,
            bot_user_id=str(integration["bot_user"]),
            name=integration["name"],
            invited_at=invited_at,
        )

    @delete(
        "/{consultation_id:str}/participants/{client_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove an invited bot (the doctor)",
    )
    async def remove(self, request: Request[Any, Any, Any], consultation_id: str, client_id: str) -> None:
        member = await _member(request, consultation_id, "participants.remove", "doctor")
        removed = (
            await RoomBot.delete()
            .where((RoomBot.appointment == member.appointment_id) & (RoomBot.client_id == client_id))
            .returning(RoomBot.bot_user)
        )
        if not removed:
            raise ApiError(404, "not_found", "That bot is not in this consultation.")
        await _audit(request, member, "participants.remove", "participants", "success")
        evict = getattr(request.app.state, "evict_from_room", None)
        if evict is not None:
            await evict(str(removed[0]["bot_user"]), room_name(member.appointment_id))


async def _save(
    request: Request[Any, Any, Any],
    member: Membership,
    table: Any,
    kind: str,
    author_column: str,
    data: clinical_docs.DocumentIn,
) -> clinical_docs.DocumentOut:
    principal: Principal = current_principal(request)
    version = clinical_docs.expected_version(data, request.headers.get("if-match"))
    try:
        document = await clinical_docs.write(
            table,
            member.appointment_id,
            author_column=author_column,
            author_id=principal.id,
            text=data.text,
            version=version,
        )
    except clinical_docs.ConflictingEdit:
        await _audit(request, member, f"{kind}.write", kind, "conflict")
        raise
    await _audit(request, member, f"{kind}.write", kind, "success")
    return document
