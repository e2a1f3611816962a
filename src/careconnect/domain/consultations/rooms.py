"""Who belongs to a consultation, and what each may do: shared by the REST API and the hub.

One query answers "is this principal a member of appointment A, and as what": the patient,
the doctor, or a bot the doctor invited. Anyone else gets ``None`` and the caller answers 404
(REST) or ``forbidden`` (hub), so ids cannot be probed.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from careconnect.domain.admin.vetting import is_approved
from careconnect.principal import Principal
from careconnect.tables import RoomBot, User
from careconnect.tables.scheduling import Appointment

ROOM_PREFIX = "consultation:"  # the one spelling of a consultation room's name: ``room_name``
WRITABLE_STATES = frozenset({"checked_in", "in_progress"})


class Membership(msgspec.Struct, frozen=True):
    appointment_id: str
    patient_id: str
    doctor_id: str
    status: str
    as_role: str  # patient | doctor | bot
    starts_at: dt.datetime | None = None


def room_name(appointment_id: str) -> str:
    return f"{ROOM_PREFIX}{appointment_id}"


def appointment_id_of(room: str) -> str | None:
    """The appointment id of a room name, which has one spelling: ``consultation:`` and the id in
    lower-case canonical UUID form. Any other spelling (upper case, braces, no dashes, ``urn:uuid:``,
    whitespace) names no room: it must never become a second room of the same consultation."""
    if not room.startswith(ROOM_PREFIX) or len(room) != len(ROOM_PREFIX) + 36:
        return None
    text = room[len(ROOM_PREFIX) :]
    try:
        canonical = str(uuid.UUID(text))
    except ValueError:
        return None
    return canonical if canonical == text else None


async def membership(principal: Principal, appointment_id: str) -> Membership | None:
    """The principal's place in the consultation, or None when they have none (or it doesn't exist)."""
    try:
        appointment_id = str(uuid.UUID(appointment_id))
    except ValueError:
        return None
    row = (
        await Appointment.select(
            Appointment.id, Appointment.patient, Appointment.doctor, Appointment.status, Appointment.starts_at
        )
        .where(Appointment.id == appointment_id)
        .first()
    )
    if row is None:
        return None
    patient_id, doctor_id = str(row["patient"]), str(row["doctor"])
    if principal.id == patient_id and principal.role == "patient":
        as_role = "patient"
    elif principal.id == doctor_id and principal.role == "doctor" and await is_approved(doctor_id):
        as_role = "doctor"  # a doctor awaiting review, or rejected, is no member (see domain/admin/vetting.py)
    elif principal.role == "bot" and await RoomBot.exists().where(
        (RoomBot.appointment == appointment_id) & (RoomBot.bot_user == principal.id)
    ):
        as_role = "bot"
    else:
        return None
    return Membership(
        appointment_id=appointment_id,
        patient_id=patient_id,
        doctor_id=doctor_id,
        status=row["status"],
        as_role=as_role,
        starts_at=row["starts_at"],
    )


async def members(appointment_id: str) -> list[dict[str, str]]:
    """The room's members: patient, doctor and invited bots, as ``{id, role, name}``."""
    row = (
        await Appointment.select(Appointment.patient, Appointment.doctor)
        .where(Appointment.id == appointment_id)
        .first()
    )
    if row is None:
        return []
    ids = [row["patient"], row["doctor"]]
    bots = await RoomBot.select(RoomBot.bot_user).where(RoomBot.appointment == appointment_id)
    ids.extend(b["bot_user"] for b in bots)
    users = await User.select(User.id, User.role, User.full_name).where(User.id.is_in(ids))
    by_id = {str(u["id"]): u for u in users}
    result = []
    for member_id in ids:
        user = by_id.get(str(member_id))
        if user is not None:
            result.append({"id": str(user["id"]), "role": user["role"], "name": user["full_name"]})
    return result
