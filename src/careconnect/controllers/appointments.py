"""Booking, listing, cancelling and rescheduling appointments; the calendar file; the intake.

HTTP over ``SchedulingService`` (the bookings) and ``AppointmentsService`` (reading them, the intake).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import Provide
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from careconnect.domain.appointments.deps import provide_appointments
from careconnect.domain.appointments.schemas import (
    AppointmentOut,
    AppointmentPage,
    IntakeIn,
    IntakeOut,
    Scope,
    Status,
)
from careconnect.domain.appointments.service import AppointmentsService
from careconnect.domain.scheduling.deps import provide_scheduling
from careconnect.domain.scheduling.schemas import BookingIn, CancelIn, RescheduleIn
from careconnect.domain.scheduling.service import SchedulingService
from careconnect.guards import current_principal, requires_auth, requires_patient
from careconnect.openapi import problems


class AppointmentsController(Controller):
    path = "/api/v1/appointments"
    tags = ["appointments"]
    guards = [requires_auth]
    dependencies = {
        "scheduling": Provide(provide_scheduling, sync_to_thread=False),
        "appointments": Provide(provide_appointments, sync_to_thread=False),
    }

    @post(
        "/",
        guards=[requires_patient],
        status_code=201,
        summary="Book a slot (optional Idempotency-Key)",
        responses={
            200: ResponseSpec(AppointmentOut, description="A retry with the same Idempotency-Key: the first booking."),
            **problems(
                (409, "The slot was just taken (slot_taken), or the Idempotency-Key is in use for another booking.")
            ),
        },
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        scheduling: SchedulingService,
        data: JSONBody[BookingIn],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                description="Any unique string (1 to 200 characters): a retry with the same key books once.",
            ),
        ] = None,
    ) -> Response[AppointmentOut]:
        appointment, created = await scheduling.book(current_principal(request), data, idempotency_key)
        return Response(appointment, status_code=201 if created else 200)

    @get(
        "/",
        summary="My appointments: upcoming (soonest first) or past (latest first)",
        operation_id="appointments_list",
    )
    async def list_mine(
        self,
        request: Request[Any, Any, Any],
        appointments: AppointmentsService,
        which: Annotated[Scope, QueryParameter(name="scope")] = "upcoming",
        status: Status | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AppointmentPage:
        return await appointments.page(current_principal(request), which, status=status, limit=limit, cursor=cursor)

    @get(
        "/{appointment_id:str}",
        summary="One appointment (its patient and doctor only)",
        operation_id="appointments_get",
    )
    async def one(
        self, request: Request[Any, Any, Any], appointments: AppointmentsService, appointment_id: str
    ) -> AppointmentOut:
        return await appointments.one(current_principal(request), appointment_id)

    @post(
        "/{appointment_id:str}/cancel",
        status_code=200,
        summary="Cancel before it starts (patient or doctor)",
        responses=problems(409),
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        scheduling: SchedulingService,
        appointment_id: str,
        data: JSONBody[CancelIn | None] = None,
    ) -> AppointmentOut:
        return await scheduling.cancel(current_principal(request), appointment_id, data)

    @post(
        "/{appointment_id:str}/reschedule",
        guards=[requires_patient],
        status_code=200,
        summary="Move to another slot",
        responses=problems(409),
    )
    async def reschedule(
        self,
        request: Request[Any, Any, Any],
        scheduling: SchedulingService,
        appointment_id: str,
        data: JSONBody[RescheduleIn],
    ) -> AppointmentOut:
        return await scheduling.reschedule(current_principal(request), appointment_id, data.starts_at)

    @get("/{appointment_id:str}/calendar.ics", summary="The appointment as an RFC 5545 calendar file")
    async def calendar(
        self, request: Request[Any, Any, Any], appointments: AppointmentsService, appointment_id: str
    ) -> Response[bytes]:
        file = await appointments.calendar(current_principal(request), appointment_id)
        return Response(
            file.content,
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
        )

    @put(
        "/{appointment_id:str}/intake",
        summary="Fill or edit the intake form (the patient, until the visit starts)",
        responses=problems(409),
    )
    async def write_intake(
        self,
        request: Request[Any, Any, Any],
        appointments: AppointmentsService,
        appointment_id: str,
        data: JSONBody[IntakeIn],
    ) -> IntakeOut:
        return await appointments.write_intake(current_principal(request), appointment_id, data, scope=request.scope)

    @get("/{appointment_id:str}/intake", summary="The intake (the patient and that appointment's doctor)")
    async def read_intake(
        self, request: Request[Any, Any, Any], appointments: AppointmentsService, appointment_id: str
    ) -> IntakeOut:
        return await appointments.read_intake(current_principal(request), appointment_id, scope=request.scope)
