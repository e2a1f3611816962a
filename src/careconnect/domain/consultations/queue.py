"""The doctor's waiting room queue, as a checked-in patient sees it.

Patients are seen in the order of their booked start (then their appointment id, so two at the
same minute keep one order): a patient's place is one more than the number of the doctor's
checked-in visits that come first. The doctor is "with a patient" while another of their visits
is in progress. Only counts leave this module: never who the other patients are.
"""

from __future__ import annotations

from careconnect.domain.consultations.rooms import Membership
from careconnect.domain.consultations.schemas import QueueOut
from careconnect.tables.scheduling import Appointment


async def queue_of(member: Membership) -> QueueOut:
    """The member's view of the doctor's queue for the visit ``member`` belongs to."""
    waiting = await Appointment.select(Appointment.id, Appointment.starts_at).where(
        (Appointment.doctor == member.doctor_id) & (Appointment.status == "checked_in")
    )
    busy = await Appointment.exists().where(
        (Appointment.doctor == member.doctor_id)
        & (Appointment.status == "in_progress")
        & (Appointment.id != member.appointment_id)
    )
    position: int | None = None
    if member.status == "checked_in" and member.starts_at is not None:
        mine = (member.starts_at, member.appointment_id)
        position = 1 + sum(1 for row in waiting if (row["starts_at"], str(row["id"])) < mine)
    return QueueOut(status=member.status, position=position, waiting=len(waiting), doctor_busy=busy)
