"""A treating doctor's view of a patient's history."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get

from careconnect.errors import ApiError
from careconnect.guards import current_principal, requires_doctor
from careconnect.services import clinical_docs
from careconnect.services.appointments import appointment_out
from careconnect.services.audit import patient_exists, record
from careconnect.services.intake import intake_out
from careconnect.services.users import parse_uuid
from careconnect.tables import ConsultationNote, ConsultationSummary, User
from careconnect.tables.scheduling import Appointment


class PatientOut(msgspec.Struct, kw_only=True):
    id: str
    full_name: str
    email: str
    timezone: str


class HistoryEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    appointment: Any
    intake: Any = None
    summary: clinical_docs.DocumentOut | None = None
    notes: clinical_docs.DocumentOut | None = None


class HistoryOut(msgspec.Struct, kw_only=True):
    patient: PatientOut
    appointments: list[HistoryEntry]


class PatientsController(Controller):
    path = "/api/v1/patients"
    tags = ["patients"]
    guards = [requires_doctor]

    @get("/{patient_id:str}/history", summary="A patient's visits, for a doctor who has an appointment with them")
    async def history(self, request: Request[Any, Any, Any], patient_id: str) -> HistoryOut:
        doctor = current_principal(request)
        pid = parse_uuid(patient_id, "patient")
        treating = await Appointment.exists().where((Appointment.patient == pid) & (Appointment.doctor == doctor.id))
        if not treating:
            await record(
                actor=doctor,
                action="history.read",
                resource_type="history",
                resource_id=pid,
                patient_id=pid if await patient_exists(pid) else None,
                outcome="not_found",
                scope=request.scope,
            )
            raise ApiError(404, "not_found", "No such patient among yours.")
        patient = await User.select().where(User.id == pid).first()
        assert patient is not None
        rows = (
            await Appointment.select(Appointment.id, Appointment.doctor)
            .where(Appointment.patient == pid)
            .order_by(Appointment.starts_at, ascending=False)
        )
        entries = []
        for row in rows:
            aid = str(row["id"])
            summary = await clinical_docs.read(ConsultationSummary, aid)
            notes = None
            if str(row["doctor"]) == doctor.id:
                own = await clinical_docs.read(ConsultationNote, aid)
                notes = own if own.version else None
            entries.append(
                HistoryEntry(
                    appointment=await appointment_out(aid),
                    intake=await intake_out(aid),
                    summary=summary if summary.version else None,
                    notes=notes,
                )
            )
        await record(
            actor=doctor,
            action="history.read",
            resource_type="history",
            resource_id=pid,
            patient_id=pid,
            outcome="success",
            scope=request.scope,
        )
        return HistoryOut(
            patient=PatientOut(
                id=str(patient["id"]),
                full_name=patient["full_name"],
                email=patient["email"],
                timezone=patient["timezone"],
            ),
            appointments=entries,
        )
