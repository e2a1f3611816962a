"""The doctor directory, free slots, and a doctor's own availability (HTTP over ``SchedulingService``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get, put
from litestar.di import Provide
from litestar.params import JSONBody, Parameter, QueryParameter

from careconnect.domain.scheduling.deps import provide_scheduling
from careconnect.domain.scheduling.schemas import AvailabilityRules, DoctorCard, DoctorPage, SlotList, SpecialtyList
from careconnect.domain.scheduling.service import SchedulingService
from careconnect.guards import current_principal, requires_auth, requires_doctor
from careconnect.hub.bounds import TEXT_PATTERN as TEXT
from careconnect.openapi import problems


class DoctorsController(Controller):
    path = "/api/v1/doctors"
    tags = ["doctors"]
    guards = [requires_auth]
    dependencies = {"scheduling": Provide(provide_scheduling, sync_to_thread=False)}

    @get("/", summary="Find doctors by name or specialty", operation_id="doctors_list")
    async def list_doctors(
        self,
        scheduling: SchedulingService,
        q: Annotated[str | None, Parameter(max_length=100, pattern=TEXT)] = None,
        specialty: Annotated[str | None, Parameter(max_length=100, pattern=TEXT)] = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> DoctorPage:
        return await scheduling.directory(q=q, specialty=specialty, limit=limit, cursor=cursor)

    @get("/specialties", summary="The specialties of listed doctors, once each")
    async def specialties(self, scheduling: SchedulingService) -> SpecialtyList:
        return await scheduling.specialties()

    @get("/me/availability", guards=[requires_doctor], summary="My weekly hours, slot length and exceptions")
    async def my_availability(
        self, request: Request[Any, Any, Any], scheduling: SchedulingService
    ) -> AvailabilityRules:
        return await scheduling.availability(current_principal(request))

    @put(
        "/me/availability",
        guards=[requires_doctor],
        summary="Set my availability (never cancels bookings)",
        responses=problems(409),
    )
    async def set_availability(
        self, request: Request[Any, Any, Any], scheduling: SchedulingService, data: JSONBody[AvailabilityRules]
    ) -> AvailabilityRules:
        return await scheduling.set_availability(current_principal(request), data)

    @get("/{doctor_id:str}", summary="One doctor's card", operation_id="doctors_get")
    async def one(self, request: Request[Any, Any, Any], scheduling: SchedulingService, doctor_id: str) -> DoctorCard:
        return await scheduling.doctor(current_principal(request), doctor_id)

    @get(
        "/{doctor_id:str}/slots",
        summary="Free, bookable slots in a range of at most 31 days",
        operation_id="doctors_free_slots",
    )
    async def free(
        self,
        request: Request[Any, Any, Any],
        scheduling: SchedulingService,
        doctor_id: str,
        from_: Annotated[dt.datetime | None, QueryParameter(name="from")] = None,
        to: dt.datetime | None = None,
    ) -> SlotList:
        return await scheduling.slots(current_principal(request), doctor_id, from_, to)
