"""A visit and both its people as mails need them, read in one query (inside the caller's
transaction when there is one, so it sees the booking it just wrote)."""

from __future__ import annotations

import uuid

import msgspec

from careconnect.domain.notifications.schemas import Recipient, Visit
from careconnect.tables.scheduling import Appointment


class VisitParties(msgspec.Struct, frozen=True, kw_only=True):
    visit: Visit
    patient: Recipient
    doctor: Recipient


async def visit_parties(appointment_id: str) -> VisitParties | None:
    """The appointment as ``Visit`` with its patient and doctor as ``Recipient``s, or None."""
    try:
        key = uuid.UUID(appointment_id)
    except ValueError:
        return None
    p, d = Appointment.patient, Appointment.doctor
    row = (
        await Appointment.select(
            Appointment.id,
            Appointment.starts_at,
            Appointment.ends_at,
            p.id.as_alias("patient_id"),
            p.email.as_alias("patient_email"),
            p.full_name.as_alias("patient_name"),
            p.timezone.as_alias("patient_timezone"),
            d.id.as_alias("doctor_id"),
            d.email.as_alias("doctor_email"),
            d.full_name.as_alias("doctor_name"),
            d.timezone.as_alias("doctor_timezone"),
        )
        .where(Appointment.id == key)
        .first()
    )
    if row is None:
        return None
    return VisitParties(
        visit=Visit(
            id=str(row["id"]),
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            doctor_name=row["doctor_name"],
            patient_name=row["patient_name"],
        ),
        patient=_recipient(row, "patient"),
        doctor=_recipient(row, "doctor"),
    )


def _recipient(row: dict[str, object], side: str) -> Recipient:
    return Recipient(
        user_id=str(row[f"{side}_id"]),
        email=str(row[f"{side}_email"]),
        name=str(row[f"{side}_name"]),
        timezone=str(row[f"{side}_timezone"] or "UTC"),
    )
