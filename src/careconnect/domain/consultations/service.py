"""The consultation's business side: lifecycle, message history, notes, summary, invited bots.

Every operation starts from the caller's membership (``rooms.membership``): anyone who is not
a member, or not in the role the operation needs, gets 404 ``not_found`` (audited), so ids
cannot be probed. Reads and writes of clinical data leave an audit entry with their outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from careconnect.db import write_transaction
from careconnect.domain.appointments.queries import appointment_out
from careconnect.domain.appointments.service import AppointmentOut, AppointmentsService
from careconnect.domain.audit.service import patient_of_appointment, record
from careconnect.domain.consultations import bots, clinical_docs
from careconnect.domain.consultations.clinical_docs import NOTES, SUMMARY, Document
from careconnect.domain.consultations.queue import queue_of
from careconnect.domain.consultations.rooms import Membership, membership, room_name
from careconnect.domain.consultations.schemas import (
    DocumentIn,
    DocumentOut,
    Invitable,
    InvitedRoom,
    InvitedRooms,
    MessageSlice,
    Participant,
    QueueOut,
)
from careconnect.domain.errors import Forbidden, NotFound
from careconnect.domain.notifications.inbox import push
from careconnect.domain.notifications.visit_mail import VisitMails
from careconnect.domain.webhooks.events import WebhookEvents
from careconnect.events import Events
from careconnect.hub.store import MessageStore
from careconnect.principal import Principal


@dataclass(frozen=True)
class Caller:
    """Who asks, and the request's ASGI scope (its client address and id go into audit entries)."""

    principal: Principal
    scope: Mapping[str, Any]


class ConsultationsService:
    """One consultation's operations for its members.

    Args:
        events: where a status change is announced (the patient's and doctor's private rooms,
            the consultation room's ``room_state``) and a removed bot is evicted.
        store: the hub's message store, the one read path of a room's messages.
        mails: the visit's mails ("your summary is ready" once the doctor writes it).
    """

    def __init__(
        self,
        events: Events,
        store: MessageStore,
        mails: VisitMails | None = None,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self.events = events
        self.store = store
        self.mails = mails
        self.webhooks = webhooks
        self.visits = AppointmentsService(events, mails, webhooks)

    async def member(self, caller: Caller, consultation_id: str, action: str, *roles: str) -> Membership:
        """The caller's membership, or 404 (audited) when they have none or not in one of ``roles``."""
        found = await membership(caller.principal, consultation_id)
        if found is None or (roles and found.as_role not in roles):
            await record(
                actor=caller.principal,
                action=action,
                resource_type="consultation",
                resource_id=consultation_id[:200],
                outcome="not_found",
                patient_id=found.patient_id if found else await patient_of_appointment(consultation_id),
                scope=caller.scope,
            )
            raise NotFound("No such consultation.")
        return found

    # -- lifecycle: the membership gate here, the rules and the move in AppointmentsService --
    async def check_in(self, caller: Caller, consultation_id: str) -> AppointmentOut:
        """The patient enters the waiting room, from 15 minutes before the start."""
        member = await self.member(caller, consultation_id, "consultation.check_in", "patient")
        return await self.visits.check_in(member)

    async def start(self, caller: Caller, consultation_id: str) -> AppointmentOut:
        member = await self.member(caller, consultation_id, "consultation.start", "doctor")
        return await self.visits.start(member)

    async def complete(self, caller: Caller, consultation_id: str) -> AppointmentOut:
        member = await self.member(caller, consultation_id, "consultation.complete", "doctor")
        return await self.visits.complete(member)

    async def no_show(self, caller: Caller, consultation_id: str) -> AppointmentOut:
        """The doctor records a no-show, from 10 minutes after the start."""
        member = await self.member(caller, consultation_id, "consultation.no_show", "doctor")
        return await self.visits.no_show(member)

    async def queue(self, caller: Caller, consultation_id: str) -> QueueOut:
        """The visit's place in the doctor's waiting room queue (either member may ask)."""
        member = await self.member(caller, consultation_id, "consultation.queue", "patient", "doctor")
        return await queue_of(member)

    # -- messages ----------------------------------------------------------------------------
    async def messages(
        self, caller: Caller, consultation_id: str, *, after_seq: int | None, before_seq: int | None, limit: int
    ) -> MessageSlice:
        """A page of the room's stored messages, in seq order: the oldest after ``after_seq``, or
        (without it) the newest, before ``before_seq`` when given; read from the hub's store."""
        member = await self.member(caller, consultation_id, "messages.read")
        newest = after_seq is None  # paging backwards, or the latest page
        page = await self.store.read_between(
            room_name(member.appointment_id), after_seq or 0, before_seq, limit + 1, newest=newest
        )
        has_more = len(page) > limit
        if has_more:
            page = page[1:] if newest else page[:limit]
        await self._audit(caller, member, "messages.read", "messages", "success")
        return MessageSlice(messages=page, has_more=has_more)

    # -- notes and summary -------------------------------------------------------------------
    async def read_notes(self, caller: Caller, consultation_id: str) -> DocumentOut:
        member = await self.member(caller, consultation_id, "notes.read", "doctor")
        return await self._read(caller, member, NOTES)

    async def write_notes(
        self, caller: Caller, consultation_id: str, data: DocumentIn, if_match: str | None
    ) -> DocumentOut:
        member = await self.member(caller, consultation_id, "notes.write", "doctor")
        return await self._save(caller, member, NOTES, data, if_match)

    async def read_summary(self, caller: Caller, consultation_id: str) -> DocumentOut:
        member = await self.member(caller, consultation_id, "summary.read", "doctor", "patient")
        return await self._read(caller, member, SUMMARY)

    async def write_summary(
        self, caller: Caller, consultation_id: str, data: DocumentIn, if_match: str | None
    ) -> DocumentOut:
        """The doctor writes the summary; the patient, who may read it, is refused (403, audited)."""
        member = await self.member(caller, consultation_id, "summary.write", "doctor", "patient")
        if member.as_role != "doctor":
            await self._audit(caller, member, "summary.write", "summary", "denied")
            raise Forbidden("Only the doctor writes the summary.")
        mails, webhooks = self.mails, self.webhooks
        if mails is None and webhooks is None:
            return await self._save(caller, member, SUMMARY, data, if_match)

        async def then_mail(document: DocumentOut) -> None:
            if not document.text.strip():
                return
            if mails is not None:  # once per visit (their dedupe keys): a later edit queues nothing more
                await mails.summary_ready(member.appointment_id)
            if webhooks is not None and document.updated_at is not None:  # every version with text
                await webhooks.summary_published(member.appointment_id, document.version, document.updated_at)

        document = await self._save(caller, member, SUMMARY, data, if_match, then=then_mail)
        if mails is not None:
            await push(self.events, mails.pending)
        return document

    async def _read(self, caller: Caller, member: Membership, kind: Document) -> DocumentOut:
        document = await kind.read(member.appointment_id)
        await self._audit(caller, member, f"{kind.name}.read", kind.name, "success")
        return document

    async def _save(
        self,
        caller: Caller,
        member: Membership,
        kind: Document,
        data: DocumentIn,
        if_match: str | None,
        then: Callable[[DocumentOut], Awaitable[None]] | None = None,
    ) -> DocumentOut:
        """Save the text; ``then`` runs in the same transaction (what the save causes commits
        with it, or neither does)."""
        version = clinical_docs.expected_version(data, if_match)
        try:
            async with write_transaction():
                document = await kind.write(
                    member.appointment_id, author_id=caller.principal.id, text=data.text, version=version
                )
                if then is not None:
                    await then(document)
        except clinical_docs.ConflictingEdit:
            await self._audit(caller, member, f"{kind.name}.write", kind.name, "conflict")
            raise
        await self._audit(caller, member, f"{kind.name}.write", kind.name, "success")
        return document

    # -- invited bots ------------------------------------------------------------------------
    async def participants(self, caller: Caller, consultation_id: str) -> list[Participant]:
        member = await self.member(caller, consultation_id, "participants.read", "doctor")
        return await bots.invited(member.appointment_id)

    async def invite(self, caller: Caller, consultation_id: str, client_id: str) -> Participant:
        member = await self.member(caller, consultation_id, "participants.invite", "doctor")
        participant = await bots.invite(member.appointment_id, client_id, invited_by=caller.principal.id)
        await self._audit(caller, member, "participants.invite", "participants", "success")
        appointment = await appointment_out(member.appointment_id)
        await self.events.invited(participant.bot_user_id, room_name(member.appointment_id), appointment)
        return participant

    async def invitable(self, caller: Caller) -> list[Invitable]:
        """The integrations a doctor can invite (doctors and admins; bots and patients: 403)."""
        if caller.principal.role not in ("doctor", "admin"):
            raise Forbidden("Only doctors invite integrations into their consultations.")
        return await bots.directory()

    async def invited_rooms(self, caller: Caller) -> InvitedRooms:
        """The rooms the calling bot is invited to now (API.md 1.1 "Integrations")."""
        if caller.principal.role != "bot":
            raise Forbidden("Only bot accounts are invited to rooms; people find theirs in /appointments.")
        rooms = [
            InvitedRoom(
                room=room_name(appointment_id), appointment=await appointment_out(appointment_id), invited_at=at
            )
            for appointment_id, at in await bots.rooms_of(caller.principal.id)
        ]
        return InvitedRooms(rooms=rooms)

    async def remove(self, caller: Caller, consultation_id: str, client_id: str) -> None:
        """Take an invited bot out of the consultation, and out of the room on every worker."""
        member = await self.member(caller, consultation_id, "participants.remove", "doctor")
        bot_user_id = await bots.remove(member.appointment_id, client_id)
        await self._audit(caller, member, "participants.remove", "participants", "success")
        await self.events.evict(bot_user_id, room_name(member.appointment_id))

    async def _audit(self, caller: Caller, member: Membership, action: str, resource: str, outcome: str) -> None:
        await record(
            actor=caller.principal,
            action=action,
            resource_type=resource,
            resource_id=member.appointment_id,
            outcome=outcome,
            patient_id=member.patient_id,
            scope=caller.scope,
        )
