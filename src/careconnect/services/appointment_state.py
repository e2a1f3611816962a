"""The appointment state machine: the only place a status changes.

    booked -> checked_in -> in_progress -> completed
    booked | checked_in -> cancelled
    booked | checked_in -> no_show

Any other move is 409 ``invalid_state``. ``transition`` is a conditional UPDATE (WHERE status
IN the allowed sources), so of two concurrent transitions only one can win.
"""

from __future__ import annotations

from typing import Any

from careconnect.errors import ApiError
from careconnect.tables.scheduling import Appointment

STATUSES = ("booked", "checked_in", "in_progress", "completed", "cancelled", "no_show")
ALLOWED: dict[str, frozenset[str]] = {
    "checked_in": frozenset({"booked"}),
    "in_progress": frozenset({"checked_in"}),
    "completed": frozenset({"in_progress"}),
    "cancelled": frozenset({"booked", "checked_in"}),
    "no_show": frozenset({"booked", "checked_in"}),
}
ACTIVE = frozenset({"booked", "checked_in", "in_progress"})


def can_move(current: str, target: str) -> bool:
    return current in ALLOWED.get(target, frozenset())


def invalid(current: str | None, target: str) -> ApiError:
    if current is None:
        return ApiError(404, "not_found", "No such appointment.")
    return ApiError(409, "invalid_state", f"An appointment that is {current} cannot become {target}.")


async def transition(appointment_id: str, target: str, values: dict[Any, Any] | None = None) -> None:
    """Move an appointment to ``target`` if its current status allows it, else 409 ``invalid_state``."""
    if target not in ALLOWED:
        raise ValueError(f"unknown status {target!r}")
    changes: dict[Any, Any] = {Appointment.status: target, **(values or {})}
    moved = (
        await Appointment.update(changes)
        .where((Appointment.id == appointment_id) & Appointment.status.is_in(list(ALLOWED[target])))
        .returning(Appointment.id)
    )
    if not moved:
        row = await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first()
        raise invalid(row["status"] if row else None, target)
