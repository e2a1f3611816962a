"""A patient's history as one doctor may see it (API.md 1.1, "Patient history scope").

The rule, as queries:
- the asking doctor is approved and has an appointment with the patient that is not cancelled
  (booked, checked in, in progress, completed or no-show); anyone else gets 404 ``not_found``,
  so a doctor who books and cancels, or never met the patient, learns nothing, not even that the
  patient exists;
- the doctor's own appointments with the patient are listed with intake, summary and the
  doctor's own notes;
- appointments with other doctors are listed (intake and summary, never their notes) only while
  the patient's ``share_history`` is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from careconnect.domain.admin.vetting import approved_doctor
from careconnect.domain.appointments.intake import intake_out
from careconnect.domain.appointments.service import appointment_out
from careconnect.domain.consultations import clinical_docs
from careconnect.domain.scheduling.availability import FREES_SLOT
from careconnect.errors import ApiError
from careconnect.tables import ConsultationNote, ConsultationSummary, User
from careconnect.tables.scheduling import Appointment

if TYPE_CHECKING:
    from careconnect.principal import Principal


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


async def is_treating(doctor: Principal, patient_id: str) -> bool:
    """An approved doctor with a not-cancelled appointment with this patient."""
    if doctor.role != "doctor" or not await approved_doctor(doctor.id):
        return False
    return bool(
        await Appointment.exists().where(
            (Appointment.patient == patient_id) & (Appointment.doctor == doctor.id) & (Appointment.status != FREES_SLOT)
        )
    )


async def patient_history(doctor: Principal, patient_id: str) -> HistoryOut:
    """The history ``doctor`` may read, newest first; 404 when they do not treat the patient."""
    if not await is_treating(doctor, patient_id):
        raise ApiError(404, "not_found", "No such patient among yours.")
    patient = await User.select().where(User.id == patient_id).first()
    if patient is None:
        raise ApiError(404, "not_found", "No such patient among yours.")
    query = Appointment.select(Appointment.id, Appointment.doctor).where(Appointment.patient == patient_id)
    if not patient["share_history"]:
        query = query.where(Appointment.doctor == doctor.id)
    rows = await query.order_by(Appointment.starts_at, ascending=False).order_by(Appointment.id, ascending=False)
    entries = []
    for row in rows:
        aid = str(row["id"])
        summary = await clinical_docs.read(ConsultationSummary, aid)
        notes = None
        if str(row["doctor"]) == doctor.id:  # another doctor's notes are theirs alone, shared or not
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
    return HistoryOut(
        patient=PatientOut(
            id=str(patient["id"]),
            full_name=patient["full_name"],
            email=patient["email"],
            timezone=patient["timezone"],
        ),
        appointments=entries,
    )
