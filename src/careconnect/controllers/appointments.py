"""Booking, listing, cancelling and rescheduling appointments; the calendar file; the intake."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody, QueryParameter
from msgspec import Meta

from careconnect.domain.appointments.intake import IntakeIn, IntakeOut, intake_out, save_intake
from careconnect.domain.appointments.service import (
    AppointmentOut,
    AppointmentPage,
    Scope,
    Status,
    appointment_out,
    owned,
    page_of,
)
from careconnect.domain.audit.service import patient_of_appointment, record
from careconnect.domain.errors import DomainError
from careconnect.domain.scheduling import booking
from careconnect.errors import ApiError, status_of, validation_error
from careconnect.events import events_of
from careconnect.guards import current_principal, requires_auth, requires_patient
from careconnect.hub.bounds import TEXT_PATTERN as TEXT
from careconnect.hub.bounds import storable
from careconnect.instants import instant

UTC = dt.UTC
_OUTCOMES = {403: "denied", 404: "not_found", 409: "conflict"}


class BookingIn(msgspec.Struct, kw_only=True):
    doctor_id: str
    starts_at: dt.datetime
    reason: Annotated[str, Meta(max_length=1000, pattern=TEXT)] = ""


class CancelIn(msgspec.Struct, kw_only=True):
    reason: Annotated[str, Meta(max_length=1000, pattern=TEXT)] | None = None


class RescheduleIn(msgspec.Struct, kw_only=True):
    starts_at: dt.datetime


def _instant(value: dt.datetime, field: str = "starts_at") -> dt.datetime:
    return instant(value, field)


def _doctor_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise validation_error("doctor_id", "not a doctor id") from None


def _idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and (not 1 <= len(key) <= 200 or not storable(key)):
        raise validation_error("Idempotency-Key", "1 to 200 characters, no NUL")
    return key


async def _announce(request: Request[Any, Any, Any], appointment: AppointmentOut) -> None:
    await events_of(request).appointment_changed(appointment, [appointment.patient.id, appointment.doctor.id])


async def _audit_intake(
    request: Request[Any, Any, Any], action: str, outcome: str, *, resource_id: str, patient_id: str | None
) -> None:
    """One audit entry per intake read or write, whatever the outcome; never the answers themselves."""
    await record(
        actor=current_principal(request),
        action=action,
        resource_type="intake",
        resource_id=resource_id,
        patient_id=patient_id,
        outcome=outcome,
        scope=request.scope,
    )


def _calendar(appointment: AppointmentOut) -> bytes:
    from icalendar import Calendar, Event  # imported on first use: it costs a worker ~12 MB of RSS

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
    return bytes(calendar.to_ical())


class AppointmentsController(Controller):
    path = "/api/v1/appointments"
    tags = ["appointments"]
    guards = [requires_auth]

    @post("/", guards=[requires_patient], status_code=201, summary="Book a slot (optional Idempotency-Key)")
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[BookingIn]) -> Response[AppointmentOut]:
        principal = current_principal(request)
        appointment, created = await booking.book(
            principal.id,
            _doctor_id(data.doctor_id),
            _instant(data.starts_at),
            data.reason.strip(),
            _idempotency_key(request),
        )
        if created:
            await _announce(request, appointment)
        return Response(appointment, status_code=201 if created else 200)

    @get("/", summary="My appointments: upcoming (soonest first) or past (latest first)")
    async def list_mine(
        self,
        request: Request[Any, Any, Any],
        which: Annotated[Scope, QueryParameter(name="scope")] = "upcoming",
        status: Status | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AppointmentPage:
        return await page_of(current_principal(request), which, status=status, limit=limit, cursor=cursor)

    @get("/{appointment_id:str}", summary="One appointment (its patient and doctor only)")
    async def one(self, request: Request[Any, Any, Any], appointment_id: str) -> AppointmentOut:
        row = await owned(current_principal(request), appointment_id)
        return await appointment_out(row["id"])

    @post("/{appointment_id:str}/cancel", status_code=200, summary="Cancel before it starts (patient or doctor)")
    async def cancel(
        self, request: Request[Any, Any, Any], appointment_id: str, data: JSONBody[CancelIn | None] = None
    ) -> AppointmentOut:
        principal = current_principal(request)
        row = await owned(principal, appointment_id)
        reason = data.reason.strip() if data and data.reason else None
        appointment = await booking.cancel(str(row["id"]), principal.role, reason)
        await _announce(request, appointment)
        await events_of(request).room_state_changed(appointment.id, "cancelled")
        return appointment

    @post(
        "/{appointment_id:str}/reschedule", guards=[requires_patient], status_code=200, summary="Move to another slot"
    )
    async def reschedule(
        self, request: Request[Any, Any, Any], appointment_id: str, data: JSONBody[RescheduleIn]
    ) -> AppointmentOut:
        principal = current_principal(request)
        row = await owned(principal, appointment_id)
        appointment = await booking.reschedule(str(row["id"]), principal.id, _instant(data.starts_at))
        await _announce(request, appointment)
        return appointment

    @get("/{appointment_id:str}/calendar.ics", summary="The appointment as an RFC 5545 calendar file")
    async def calendar(self, request: Request[Any, Any, Any], appointment_id: str) -> Response[bytes]:
        row = await owned(current_principal(request), appointment_id)
        appointment = await appointment_out(row["id"])
        return Response(
            _calendar(appointment),
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"'},
        )

    @put("/{appointment_id:str}/intake", summary="Fill or edit the intake form (the patient, until the visit starts)")
    async def write_intake(
        self, request: Request[Any, Any, Any], appointment_id: str, data: JSONBody[IntakeIn]
    ) -> IntakeOut:
        principal = current_principal(request)
        audit: dict[str, Any] = {"resource_id": appointment_id[:200], "patient_id": None}
        try:
            if principal.role != "patient":
                raise ApiError(403, "forbidden", "Only the patient fills in the intake.")
            row = await owned(principal, appointment_id)
            audit = {"resource_id": str(row["id"]), "patient_id": str(row["patient"])}
            saved = await save_intake(str(row["id"]), data)
        except (ApiError, DomainError) as exc:  # parse_uuid raises domain errors now (h16-accounts)
            status = exc.status_code if isinstance(exc, ApiError) else status_of(exc)
            audit["patient_id"] = audit["patient_id"] or await patient_of_appointment(appointment_id)
            await _audit_intake(request, "intake.write", _OUTCOMES.get(status, "error"), **audit)
            raise
        await _audit_intake(request, "intake.write", "success", **audit)
        return saved

    @get("/{appointment_id:str}/intake", summary="The intake (the patient and that appointment's doctor)")
    async def read_intake(self, request: Request[Any, Any, Any], appointment_id: str) -> IntakeOut:
        principal = current_principal(request)
        try:
            row = await owned(principal, appointment_id)
        except (ApiError, DomainError):
            await _audit_intake(
                request,
                "intake.read",
                "not_found",
                resource_id=appointment_id[:200],
                patient_id=await patient_of_appointment(appointment_id),
            )
            raise
        intake = await intake_out(str(row["id"]))
        await _audit_intake(
            request,
            "intake.read",
            "success" if intake else "not_found",
            resource_id=str(row["id"]),
            patient_id=str(row["patient"]),
        )
        if intake is None:
            raise ApiError(404, "not_found", "No intake has been submitted yet.")
        return intake
