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

The decision (``is_treating``, ``share_history``) is read from the primary, and so are the
doctor's own visits, whose notes, summary and status they write themselves; other doctors'
visits, listed only when the primary says the patient shares them, are read from the read
replica when there is one (``careconnect.db.from_replica``): they may be a moment old.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from careconnect.db import from_replica
from careconnect.domain.accounts.users import parse_uuid
from careconnect.domain.admin.vetting import approved_doctor
from careconnect.domain.appointments.intake import intake_out
from careconnect.domain.appointments.service import appointment_out
from careconnect.domain.audit.service import patient_exists, record
from careconnect.domain.consultations.clinical_docs import NOTES, SUMMARY
from careconnect.domain.consultations.schemas import HistoryEntry, HistoryOut, PatientOut
from careconnect.domain.errors import DomainError, NotFound
from careconnect.domain.scheduling.availability import FREES_SLOT
from careconnect.principal import Principal
from careconnect.tables import User
from careconnect.tables.scheduling import Appointment

if TYPE_CHECKING:
    from piccolo.custom_types import Combinable
    from piccolo.query.methods.select import Select

__all__ = ("HistoryOut", "HistoryService", "is_treating", "patient_history")


class HistoryService:
    """A treating doctor's reads of a patient's history, each audited with its outcome."""

    async def read(self, doctor: Principal, patient_id: str, scope: Mapping[str, Any]) -> HistoryOut:
        """The history ``doctor`` may read; 404 (audited) for a patient who is not theirs."""
        pid = parse_uuid(patient_id, "patient")
        try:
            history = await patient_history(doctor, pid)
        except DomainError:  # 404 above all: not theirs, or no such patient
            await record(
                actor=doctor,
                action="history.read",
                resource_type="history",
                resource_id=pid,
                patient_id=pid if await patient_exists(pid) else None,
                outcome="not_found",
                scope=scope,
            )
            raise
        await record(
            actor=doctor,
            action="history.read",
            resource_type="history",
            resource_id=pid,
            patient_id=pid,
            outcome="success",
            scope=scope,
        )
        return history


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
        raise NotFound("No such patient among yours.")
    patient = await User.select().where(User.id == patient_id).first()
    if patient is None:
        raise NotFound("No such patient among yours.")

    def visits(by: Combinable) -> Select[Appointment]:
        return Appointment.select(Appointment.id, Appointment.doctor, Appointment.starts_at).where(
            (Appointment.patient == patient_id) & by
        )

    rows = await visits(Appointment.doctor == doctor.id)  # their own: from the primary
    if patient["share_history"]:  # decided on the primary; the other doctors' visits may lag
        rows += await from_replica(visits(Appointment.doctor != doctor.id))
    rows.sort(key=lambda r: (r["starts_at"], str(r["id"])), reverse=True)  # newest first, then by id
    entries = []
    for row in rows:
        aid = str(row["id"])
        theirs = str(row["doctor"]) != doctor.id  # another doctor's visit: shared, and may lag
        summary = await SUMMARY.read(aid, stale_ok=theirs)
        notes = None
        if not theirs:  # another doctor's notes are theirs alone, shared or not
            own = await NOTES.read(aid)
            notes = own if own.version else None
        entries.append(
            HistoryEntry(
                appointment=await appointment_out(aid, stale_ok=theirs),
                intake=await intake_out(aid, stale_ok=theirs),
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
