"""Job kinds: what a handler is, what it may answer, and the registry the worker reads.

A handler carries out one job and says how it went::

    async def handle(job: Job) -> Outcome:
        ...            # return Sent(), or Skipped("the visit was cancelled")
                       # raise GiveUp("...") when trying again cannot help
                       # raise NotYet(at) when it must wait for another job (not an attempt)
                       # raise anything else to be tried again later, with backoff

Mail is the first kind (``mailing.MailHandler``); webhooks and "close the visits nobody closed"
register their own kinds the same way. A worker claims only the kinds it has handlers for, so
an older worker never takes a job a newer version invented.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:
    from careconnect.domain.notifications.outbox import Job


class Sent(msgspec.Struct, frozen=True):
    """The job was carried out (the mail was accepted)."""


class Skipped(msgspec.Struct, frozen=True):
    """The job was moot when its time came; ``reason`` is recorded on it."""

    reason: str


Outcome = Sent | Skipped


class GiveUp(Exception):
    """Trying this job again cannot help (a payload that does not decode, a recipient the mail
    server refused for good): it is marked failed now, logged and counted."""


class NotYet(Exception):
    """The job must wait for another one (a webhook's earlier event for the same appointment):
    it is put back until ``until`` without counting as an attempt, and its give-up clock starts
    again from then (it has not been tried yet)."""

    def __init__(self, until: dt.datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until


def appointment_key(value: str) -> uuid.UUID:
    """A payload's appointment id as the key to look it up by, or ``GiveUp``."""
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise GiveUp(f"the payload names no appointment: {value[:64]!r}") from exc


class JobHandler(Protocol):
    async def __call__(self, job: Job, /) -> Outcome: ...


class JobKinds(Mapping[str, JobHandler]):
    """The handlers by kind; ``register`` refuses a kind twice (two meanings for one word)."""

    def __init__(self, handlers: Mapping[str, JobHandler] | None = None) -> None:
        self._handlers: dict[str, JobHandler] = {}
        for kind, handler in (handlers or {}).items():
            self.register(kind, handler)

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"the job kind {kind!r} already has a handler")
        if not kind or len(kind) > 64:
            raise ValueError(f"a job kind is 1 to 64 characters: {kind!r}")
        self._handlers[kind] = handler

    def __getitem__(self, kind: str) -> JobHandler:
        return self._handlers[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)
