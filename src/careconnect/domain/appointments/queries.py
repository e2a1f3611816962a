"""Reading appointments: who may see which, the API shape, and the upcoming/past lists.

Ownership is a query, never "load then compare": ``owned(principal, id)`` selects the
appointment where id = ? and (patient = me or doctor = me), and anything else, a malformed id
included, is ``NotFound``, so ids cannot be probed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from careconnect.db import from_replica
from careconnect.domain.admin.vetting import approved_doctors
from careconnect.domain.appointments.schemas import (
    AppointmentOut,
    AppointmentPage,
    DoctorRef,
    PersonRef,
    Scope,
    Status,
)
from careconnect.domain.errors import NotFound
from careconnect.pagination import clamp_limit, decode_time_cursor, encode_cursor
from careconnect.tables import DoctorProfile
from careconnect.tables.scheduling import Appointment, Intake

if TYPE_CHECKING:
    from piccolo.custom_types import Combinable
    from piccolo.query.methods.select import Select

    from careconnect.principal import Principal

UTC = dt.UTC


def mine(principal: Principal) -> Combinable:
    """The ownership clause: appointments where the principal is the patient or the doctor."""
    if principal.role == "patient":
        return Appointment.patient == principal.id
    if principal.role == "doctor":
        # A doctor awaiting review (or rejected) sees no patient's appointment, even one made before.
        return (Appointment.doctor == principal.id) & Appointment.doctor.is_in(approved_doctors())
    return Appointment.id.is_null()  # admins and bots own no appointments (bots join rooms, see consultations)


async def owned(principal: Principal, appointment_id: str) -> dict[str, Any]:
    """The appointment row if the principal takes part in it, else ``NotFound`` (malformed ids too)."""
    try:
        aid = str(uuid.UUID(appointment_id))
    except (ValueError, AttributeError):
        raise NotFound("No such appointment.") from None
    row = await Appointment.select().where((Appointment.id == aid) & mine(principal)).first()
    if row is None:
        raise NotFound("No such appointment.")
    return dict(row)


def _with_names() -> Select[Appointment]:
    return Appointment.select(
        *Appointment.all_columns(),
        Appointment.patient.full_name.as_alias("patient_name"),
        Appointment.doctor.full_name.as_alias("doctor_name"),
    )


async def appointment_out(appointment_id: str | uuid.UUID, *, stale_ok: bool = False) -> AppointmentOut:
    """The API shape of one appointment (no ownership check: callers have done it); ``stale_ok``
    reads it from the replica."""
    row = await from_replica(_with_names().where(Appointment.id == appointment_id).first(), stale_ok=stale_ok)
    if row is None:
        raise NotFound("No such appointment.")
    return (await shape([row], stale_ok=stale_ok))[0]


async def shape(rows: list[dict[str, Any]], *, stale_ok: bool = False) -> list[AppointmentOut]:
    """Rows selected with ``patient_name``/``doctor_name`` as API Structs (two extra queries in all)."""
    if not rows:
        return []
    doctor_ids = list({r["doctor"] for r in rows})
    profiles = DoctorProfile.select(DoctorProfile.user, DoctorProfile.specialty).where(
        DoctorProfile.user.is_in(doctor_ids)
    )
    specialties = {str(p["user"]): p["specialty"] for p in await from_replica(profiles, stale_ok=stale_ok)}
    intakes = Intake.select(Intake.appointment).where(Intake.appointment.is_in([r["id"] for r in rows]))
    with_intake = {str(i["appointment"]) for i in await from_replica(intakes, stale_ok=stale_ok)}
    return [
        AppointmentOut(
            id=str(r["id"]),
            patient=PersonRef(id=str(r["patient"]), full_name=r["patient_name"]),
            doctor=DoctorRef(
                id=str(r["doctor"]), full_name=r["doctor_name"], specialty=specialties.get(str(r["doctor"]), "")
            ),
            starts_at=r["starts_at"],
            ends_at=r["ends_at"],
            status=r["status"],
            reason=r["reason"],
            created_at=r["created_at"],
            intake_submitted=str(r["id"]) in with_intake,
            cancelled_reason=r["cancelled_reason"],
        )
        for r in rows
    ]


def _cursor_position(cursor: str) -> tuple[dt.datetime, str]:
    return decode_time_cursor(cursor)


async def page_of(
    principal: Principal,
    scope: Scope,
    *,
    status: Status | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    now: dt.datetime | None = None,
) -> AppointmentPage:
    """The principal's own appointments: upcoming soonest first, past latest first.

    Upcoming = not finished and ending after now, or running (checked in / in progress) whatever
    the clock says; past = everything else.
    """
    size = clamp_limit(limit, default=50)
    now = now or dt.datetime.now(UTC)
    booked = Appointment.status == "booked"
    upcoming = scope == "upcoming"
    if upcoming:
        which = (booked & (Appointment.ends_at > now)) | Appointment.status.is_in(["checked_in", "in_progress"])
    else:
        which = (booked & (Appointment.ends_at <= now)) | Appointment.status.is_in(
            ["completed", "cancelled", "no_show"]
        )
    query = _with_names().where(mine(principal)).where(which)
    if status:
        query = query.where(Appointment.status == status)
    if cursor:
        at, last_id = _cursor_position(cursor)
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
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = encode_cursor(last["starts_at"].astimezone(UTC).isoformat(), str(last["id"]))
    return AppointmentPage(items=await shape(rows[:size]), next_cursor=next_cursor)
