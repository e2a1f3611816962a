"""Booking, listing, cancelling and rescheduling appointments; the calendar file; the intake."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from icalendar import Calendar, Event
from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody, Parameter, QueryParameter
from msgspec import Meta

from careconnect.errors import ApiError
from careconnect.events import events_of
from careconnect.guards import current_principal, requires_auth, requires_patient
from careconnect.pagination import clamp_limit, decode_cursor, encode_cursor
from careconnect.principal import Principal
from careconnect.services import appointments as booking
from careconnect.services.audit import record
from careconnect.services.intake import EDITABLE, IntakeIn, IntakeOut, intake_out, save_intake
from careconnect.services.users import parse_uuid
from careconnect.tables.scheduling import Appointment

UTC = dt.UTC


class BookingIn(msgspec.Struct, kw_only=True):
    doctor_id: str
    starts_at: dt.datetime
    reason: Annotated[str, Meta(max_length=1000)] = ""


class CancelIn(msgspec.Struct, kw_only=True):
    reason: Annotated[str, Meta(max_length=1000)] | None = None


class RescheduleIn(msgspec.Struct, kw_only=True):
    starts_at: dt.datetime


class AppointmentPage(msgspec.Struct, kw_only=True):
    items: list[booking.AppointmentOut]
    next_cursor: str | None


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ApiError(
            422, "validation_error", "Times need a zone.", errors=[{"field": "starts_at", "message": "add Z or +hh:mm"}]
        )
    return value.astimezone(UTC)


def mine(principal: Principal) -> Any:
    """The ownership clause: appointments where I am the patient or the doctor."""
    if principal.role == "patient":
        return Appointment.patient == principal.id
    if principal.role == "doctor":
        return Appointment.doctor == principal.id
    return Appointment.id.is_null()  # admins and bots own no appointments


async def owned(principal: Principal, appointment_id: str) -> dict[str, Any]:
    """The appointment if the caller takes part in it, else 404 (never 403: ids can't be probed)."""
    aid = parse_uuid(appointment_id, "appointment")
    row = await Appointment.select().where((Appointment.id == aid) & mine(principal)).first()
    if row is None:
        raise ApiError(404, "not_found", "No such appointment.")
    return row


async def _announce(request: Request[Any, Any, Any], appointment: booking.AppointmentOut) -> None:
    await events_of(request).appointment_changed(appointment, [appointment.patient.id, appointment.doctor.id])


class AppointmentsController(Controller):
    path = "/api/v1/appointments"
    tags = ["appointments"]
    guards = [requires_auth]

    @post("/", guards=[requires_patient], status_code=201, summary="Book a slot (optional Idempotency-Key)")
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[BookingIn]
    ) -> Response[booking.AppointmentOut]:
        principal = current_principal(request)
        key = request.headers.get("idempotency-key")
        if key is not None and not 1 <= len(key) <= 200:
            raise ApiError(
                422,
                "validation_error",
                "Bad Idempotency-Key.",
                errors=[{"field": "Idempotency-Key", "message": "1 to 200 characters"}],
            )
        doctor_id = parse_uuid(data.doctor_id, "doctor") if _is_uuid(data.doctor_id) else None
        if doctor_id is None:
            raise ApiError(
                422, "validation_error", "No such doctor.", errors=[{"field": "doctor_id", "message": "not an id"}]
            )
        appointment, created = await booking.book(
            principal.id, doctor_id, _aware(data.starts_at), data.reason.strip(), key
        )
        if created:
            await _announce(request, appointment)
        return Response(appointment, status_code=201 if created else 200)

    @get("/", summary="My appointments: upcoming (soonest first) or past (latest first)")
    async def list_mine(
        self,
        request: Request[Any, Any, Any],
        which: Annotated[Literal["upcoming", "past"], QueryParameter(name="scope")] = "upcoming",
        status: Annotated[str | None, Parameter(max_length=20)] = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AppointmentPage:
        principal = current_principal(request)
        size = clamp_limit(limit, default=50)
        now = dt.datetime.now(UTC)
        query = Appointment.select(
            Appointment.all_columns(),
            Appointment.patient.full_name.as_alias("patient_name"),
            Appointment.doctor.full_name.as_alias("doctor_name"),
        ).where(mine(principal))
        upcoming = which == "upcoming"
        if upcoming:
            # Still ahead, or running now (checked in / in progress), never finished ones.
            query = query.where(
                ((Appointment.ends_at > now) & Appointment.status.is_in(["booked", "checked_in", "in_progress"]))
                | Appointment.status.is_in(["checked_in", "in_progress"])
            )
        else:
            query = query.where(
                (Appointment.ends_at <= now) | Appointment.status.is_in(["completed", "cancelled", "no_show"])
            )
        if status:
            query = query.where(Appointment.status == status)
        if cursor:
            at_raw, last_id = decode_cursor(cursor, 2)
            at = dt.datetime.fromisoformat(at_raw)
            if upcoming:
                query = query.where(
                    (Appointment.starts_at > at) | ((Appointment.starts_at == at) & (Appointment.id > last_id))
                )
            else:
                query = query.where(
                    (Appointment.starts_at < at) | ((Appointment.starts_at == at) & (Appointment.id < last_id))
                )
        query = query.order_by(Appointment.starts_at, ascending=upcoming).order_by(Appointment.id, ascending=upcoming)
        rows = await query.limit(size + 1)
        items = await booking.shape(rows[:size])
        next_cursor = None
        if len(rows) > size:
            last = rows[size - 1]
            next_cursor = encode_cursor(last["starts_at"].isoformat(), str(last["id"]))
        return AppointmentPage(items=items, next_cursor=next_cursor)

    @get("/{appointment_id:str}", summary="One appointment (its patient and doctor only)")
    async def one(self, request: Request[Any, Any, Any], appointment_id: str) -> booking.AppointmentOut:
        row = await owned(current_principal(request), appointment_id)
        return await booking.appointment_out(row["id"])

    @post("/{appointment_id:str}/cancel", status_code=200, summary="Cancel before it starts (patient or doctor)")
    async def cancel(
        self, request: Request[Any, Any, Any], appointment_id: str, data: JSONBody[CancelIn | None] = None
    ) -> booking.AppointmentOut:
        principal = current_principal(request)
        row = await owned(principal, appointment_id)
        appointment = await booking.cancel(str(row["id"]), principal.role, data.reason if data else None)
        await _announce(request, appointment)
        await events_of(request).room_state_changed(appointment.id, "cancelled")
        return appointment

    @post(
        "/{appointment_id:str}/reschedule", guards=[requires_patient], status_code=200, summary="Move to another slot"
    )
    async def reschedule(
        self, request: Request[Any, Any, Any], appointment_id: str, data: JSONBody[RescheduleIn]
    ) -> booking.AppointmentOut:
        principal = current_principal(request)
        row = await owned(principal, appointment_id)
        appointment = await booking.reschedule(str(row["id"]), principal.id, _aware(data.starts_at))
        await _announce(request, appointment)
        return appointment

    @get("/{appointment_id:str}/calendar.ics", summary="The appointment as an RFC 5545 calendar file")
    async def calendar(self, request: Request[Any, Any, Any], appointment_id: str) -> Response[bytes]:
        row = await owned(current_principal(request), appointment_id)
        appointment = await booking.appointment_out(row["id"])
        calendar = Calendar()
        calendar.add("prodid", "-//CareConnect Live//EN")
        calendar.add("version", "2.0")
        event = Event()
        event.add("uid", f"{appointment.id}@careconnect")
        event.add("dtstamp", dt.datetime.now(UTC))
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("summary", f"Consultation with {appointment.doctor.full_name}")
        event.add("description", f"{appointment.doctor.specialty}: {appointment.reason}".strip(": "))
        event.add("status", "CANCELLED" if appointment.status == "cancelled" else "CONFIRMED")
        calendar.add_component(event)
        return Response(
            calendar.to_ical(),
            media_type="text/calendar",
            headers={"Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"'},
        )

    @put("/{appointment_id:str}/intake", guards=[requires_patient], summary="Fill or edit the intake form")
    async def write_intake(
        self, request: Request[Any, Any, Any], appointment_id: str, data: JSONBody[IntakeIn]
    ) -> IntakeOut:
        principal = current_principal(request)
        try:
            row = await owned(principal, appointment_id)
        except ApiError:
            await record(
                actor=principal,
                action="intake.write",
                resource_type="intake",
                resource_id=appointment_id[:200],
                outcome="not_found",
                scope=request.scope,
            )
            raise
        if row["status"] not in EDITABLE:
            await record(
                actor=principal,
                action="intake.write",
                resource_type="intake",
                resource_id=str(row["id"]),
                patient_id=str(row["patient"]),
                outcome="conflict",
                scope=request.scope,
            )
            raise ApiError(409, "invalid_state", "The intake can be edited only until the consultation starts.")
        saved = await save_intake(str(row["id"]), data)
        await record(
            actor=principal,
            action="intake.write",
            resource_type="intake",
            resource_id=str(row["id"]),
            patient_id=str(row["patient"]),
            outcome="success",
            scope=request.scope,
        )
        return saved

    @get("/{appointment_id:str}/intake", summary="The intake (the patient and that appointment's doctor)")
    async def read_intake(self, request: Request[Any, Any, Any], appointment_id: str) -> IntakeOut:
        principal = current_principal(request)
        try:
            row = await owned(principal, appointment_id)
        except ApiError:
            await record(
                actor=principal,
                action="intake.read",
                resource_type="intake",
                resource_id=appointment_id[:200],
                outcome="not_found",
                scope=request.scope,
            )
            raise
        intake = await intake_out(str(row["id"]))
        await record(
            actor=principal,
            action="intake.read",
            resource_type="intake",
            resource_id=str(row["id"]),
            patient_id=str(row["patient"]),
            outcome="success" if intake else "not_found",
            scope=request.scope,
        )
        if intake is None:
            raise ApiError(404, "not_found", "No intake has been submitted yet.")
        return intake


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
