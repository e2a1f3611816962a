"""The appointments service: the caller's own appointments, their calendar file, the intake
(every read and write audited, whatever the outcome), and the consultation's status moves,
each announced to the patient and the doctor once it is written.

The rules live in the modules beneath: ``queries`` (ownership and the API shape), ``state``
(the state machine), ``intake``, ``calendar``. Functions other areas import from this module
(``appointment_out``, ``AppointmentOut``, ...) are re-exported here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from careconnect.db import write_transaction
from careconnect.domain.appointments.calendar import CalendarFile, calendar_file
from careconnect.domain.appointments.intake import intake_out, save_intake
from careconnect.domain.appointments.queries import appointment_out, mine, owned, page_of, shape
from careconnect.domain.appointments.schemas import (
    AppointmentOut,
    AppointmentPage,
    DoctorRef,
    IntakeIn,
    IntakeOut,
    PersonRef,
    Scope,
    Status,
)
from careconnect.domain.appointments.state import transition
from careconnect.domain.audit.service import patient_of_appointment, record
from careconnect.domain.errors import Conflict, DomainError, Forbidden, NotFound
from careconnect.tables.scheduling import Appointment

if TYPE_CHECKING:
    from piccolo.custom_types import Combinable

    from careconnect.domain.notifications.visit_mail import VisitMails
    from careconnect.domain.webhooks.events import WebhookEvents
    from careconnect.events import Events
    from careconnect.principal import Principal

__all__ = (
    "CHECK_IN_OPENS",
    "NO_SHOW_AFTER",
    "AppointmentOut",
    "AppointmentPage",
    "AppointmentsService",
    "DoctorRef",
    "PersonRef",
    "Scope",
    "Status",
    "Visit",
    "appointment_out",
    "mine",
    "owned",
    "page_of",
    "shape",
)

CHECK_IN_OPENS = dt.timedelta(minutes=15)
"""The patient may check in from this long before the start."""
NO_SHOW_AFTER = dt.timedelta(minutes=10)
"""The doctor may record a no-show from this long after the start."""


class Visit(Protocol):
    """What a status move needs to know of the appointment (a consultation ``Membership`` is one)."""

    @property
    def appointment_id(self) -> str: ...
    @property
    def patient_id(self) -> str: ...
    @property
    def doctor_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def starts_at(self) -> dt.datetime | None: ...


def _outcome(exc: DomainError) -> str:
    """The audit outcome of a refused intake request."""
    if isinstance(exc, Forbidden):
        return "denied"
    if isinstance(exc, NotFound):
        return "not_found"
    if isinstance(exc, Conflict):
        return "conflict"
    return "error"


class AppointmentsService:
    """The appointments a patient or doctor takes part in, their intake, and their status moves.

    Args:
        events: where status moves are announced (after the write).
        mails: the visit's notifications (the patient waiting, the visit started), stored in the
            move's transaction and pushed after it.
    """

    def __init__(self, events: Events, mails: VisitMails | None = None, webhooks: WebhookEvents | None = None) -> None:
        self.events = events
        self.mails = mails
        self.webhooks = webhooks  # the move's webhook event, queued in its transaction

    async def page(
        self,
        principal: Principal,
        scope: Scope = "upcoming",
        *,
        status: Status | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AppointmentPage:
        """The principal's own appointments: upcoming soonest first, or past latest first."""
        return await page_of(principal, scope, status=status, limit=limit, cursor=cursor)

    async def one(self, principal: Principal, appointment_id: str) -> AppointmentOut:
        """One appointment the principal takes part in; anyone else's is ``NotFound``."""
        row = await owned(principal, appointment_id)
        return await appointment_out(row["id"])

    async def calendar(self, principal: Principal, appointment_id: str) -> CalendarFile:
        """The appointment as an RFC 5545 file, for its patient and doctor."""
        row = await owned(principal, appointment_id)
        return calendar_file(await appointment_out(row["id"]))

    async def write_intake(
        self, principal: Principal, appointment_id: str, answers: IntakeIn, *, scope: Mapping[str, Any]
    ) -> IntakeOut:
        """The patient fills in or edits the intake until the visit starts; audited either way.

        Args:
            principal: who asks (only the appointment's patient may write).
            appointment_id: the appointment, as the client sent it.
            answers: the questionnaire.
            scope: the request's ASGI scope, for the audit entry's client address and request id.
        """
        resource_id, patient_id = appointment_id[:200], None
        try:
            if principal.role != "patient":
                raise Forbidden("Only the patient fills in the intake.")
            row = await owned(principal, appointment_id)
            resource_id, patient_id = str(row["id"]), str(row["patient"])
            saved = await save_intake(str(row["id"]), answers)
        except DomainError as exc:
            patient_id = patient_id or await patient_of_appointment(appointment_id)
            await self._audit_intake(principal, "intake.write", _outcome(exc), resource_id, patient_id, scope)
            raise
        await self._audit_intake(principal, "intake.write", "success", resource_id, patient_id, scope)
        return saved

    async def read_intake(self, principal: Principal, appointment_id: str, *, scope: Mapping[str, Any]) -> IntakeOut:
        """The intake, for the patient and that appointment's doctor; ``NotFound`` until submitted. Audited."""
        try:
            row = await owned(principal, appointment_id)
        except DomainError:
            patient_id = await patient_of_appointment(appointment_id)
            await self._audit_intake(principal, "intake.read", "not_found", appointment_id[:200], patient_id, scope)
            raise
        intake = await intake_out(str(row["id"]))
        outcome = "success" if intake else "not_found"
        await self._audit_intake(principal, "intake.read", outcome, str(row["id"]), str(row["patient"]), scope)
        if intake is None:
            raise NotFound("No intake has been submitted yet.")
        return intake

    async def check_in(self, visit: Visit, *, now: dt.datetime | None = None) -> AppointmentOut:
        """The patient enters the waiting room, from 15 minutes before the start until the slot ends."""
        now = now or dt.datetime.now(dt.UTC)
        if visit.status == "booked" and visit.starts_at is not None and now < visit.starts_at - CHECK_IN_OPENS:
            raise Conflict("Check-in opens 15 minutes before the appointment starts.", code="invalid_state")
        return await self._move(
            visit,
            "checked_in",
            condition=Appointment.ends_at > now,  # in the UPDATE: a check-in cannot outrun the slot's end
            refusal="Check-in closed when the appointment's time ended.",
        )

    async def start(self, visit: Visit) -> AppointmentOut:
        """The doctor admits the checked-in patient."""
        return await self._move(visit, "in_progress")

    async def complete(self, visit: Visit) -> AppointmentOut:
        """The doctor ends the visit (the room turns read-only)."""
        return await self._move(visit, "completed")

    async def no_show(self, visit: Visit, *, now: dt.datetime | None = None) -> AppointmentOut:
        """The doctor records that the patient did not come, from 10 minutes after the start."""
        if visit.starts_at is not None and (now or dt.datetime.now(dt.UTC)) < visit.starts_at + NO_SHOW_AFTER:
            raise Conflict("A no-show can be recorded from 10 minutes after the start.", code="invalid_state")
        return await self._move(visit, "no_show")

    async def _move(
        self,
        visit: Visit,
        target: str,
        *,
        condition: Combinable | None = None,
        refusal: str = "This appointment cannot change now.",
    ) -> AppointmentOut:
        """One state-machine move (with the other side's notification in its transaction), then
        the room's new state, the appointment to both people and the notification."""
        from careconnect.domain.notifications.inbox import push  # noqa: PLC0415 - notifications import this module

        async with write_transaction():
            await transition(visit.appointment_id, target, condition=condition, refusal=refusal)
            if self.mails is not None and target == "checked_in":
                await self.mails.checked_in(visit.appointment_id)
            elif self.mails is not None and target == "in_progress":
                await self.mails.admitted(visit.appointment_id)
            if self.webhooks is not None:
                await self.webhooks.status_changed(visit.appointment_id, target)
        appointment = await appointment_out(visit.appointment_id)
        await self.events.room_state_changed(visit.appointment_id, target)
        await self.events.appointment_changed(appointment, [visit.patient_id, visit.doctor_id])
        if self.mails is not None:
            await push(self.events, self.mails.pending)
        return appointment

    async def _audit_intake(
        self,
        principal: Principal,
        action: str,
        outcome: str,
        resource_id: str,
        patient_id: str | None,
        scope: Mapping[str, Any],
    ) -> None:
        """One audit entry per intake read or write; never the answers themselves."""
        await record(
            actor=principal,
            action=action,
            resource_type="intake",
            resource_id=resource_id,
            patient_id=patient_id,
            outcome=outcome,
            scope=scope,
        )
