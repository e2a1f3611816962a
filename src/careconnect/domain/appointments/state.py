"""The appointment state machine: the only place a status changes.

    booked -> checked_in -> in_progress -> completed
    booked | checked_in -> cancelled
    booked | checked_in -> no_show

Any other move is refused: ``Conflict`` with code ``invalid_state`` (409). ``transition`` is one
conditional UPDATE (WHERE status IN the allowed sources, and any extra condition the caller
gives), so of two concurrent transitions only one can win, and a time rule checked in the same
statement cannot be outrun.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from careconnect.domain.errors import Conflict, NotFound
from careconnect.tables.scheduling import Appointment

if TYPE_CHECKING:
    from piccolo.custom_types import Combinable

STATUSES = ("booked", "checked_in", "in_progress", "completed", "cancelled", "no_show")
ALLOWED: dict[str, frozenset[str]] = {
    "checked_in": frozenset({"booked"}),
    "in_progress": frozenset({"checked_in"}),
    "completed": frozenset({"in_progress"}),
    "cancelled": frozenset({"booked", "checked_in"}),
    "no_show": frozenset({"booked", "checked_in"}),
}
ACTIVE = frozenset({"booked", "checked_in", "in_progress"})
FINAL = frozenset({"completed", "cancelled", "no_show"})


def can_move(current: str, target: str) -> bool:
    """True when the state machine allows ``current -> target``."""
    return current in ALLOWED.get(target, frozenset())


def invalid(current: str | None, target: str) -> NotFound | Conflict:
    """The refusal of ``current -> target``: ``NotFound`` when there is no appointment at all."""
    if current is None:
        return NotFound("No such appointment.")
    return Conflict(f"An appointment that is {current} cannot become {target}.", code="invalid_state")


async def transition(
    appointment_id: str,
    target: str,
    values: dict[Any, Any] | None = None,
    *,
    expected_from: str | Iterable[str] | None = None,
    condition: Combinable | None = None,
    refusal: str = "This appointment cannot change now.",
) -> dict[str, Any]:
    """Move an appointment to ``target`` in one conditional UPDATE and return the updated row.

    Args:
        appointment_id: the appointment (the caller has already checked the principal may act on it).
        target: the new status.
        values: other columns to set in the same UPDATE, e.g. ``{Appointment.cancelled_reason: "..."}``.
        expected_from: narrow the allowed sources further (e.g. ``"booked"``); each must be a legal source.
        condition: an extra WHERE clause checked atomically, e.g. ``Appointment.starts_at > now``.
        refusal: the ``invalid_state`` detail when only ``condition`` failed.

    Raises:
        Conflict: ``invalid_state`` for an illegal move (or a failed condition).
        NotFound: there is no such appointment.
    """
    if target not in ALLOWED:
        raise ValueError(f"unknown target status {target!r}")
    sources = ALLOWED[target]
    if expected_from is not None:
        wanted = frozenset({expected_from} if isinstance(expected_from, str) else expected_from)
        if not wanted <= sources:
            raise ValueError(f"{sorted(wanted - sources)} cannot become {target!r}")
        sources = wanted
    where = (Appointment.id == appointment_id) & Appointment.status.is_in(sorted(sources))
    if condition is not None:
        where = where & condition
    changes: dict[Any, Any] = {Appointment.status: target, **(values or {})}
    moved = await Appointment.update(changes).where(where).returning(*Appointment.all_columns())
    if moved:
        return dict(moved[0])
    row = await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first()
    if row is not None and row["status"] in sources:
        raise Conflict(refusal, code="invalid_state")
    raise invalid(row["status"] if row else None, target)
