"""The mails this product sends, as the data each template needs (one tagged Struct per mail),
and the outbox payload of a mail job. Everything here is JSON in the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from careconnect.domain.appointments.service import CHECK_IN_OPENS as CHECK_IN_OPENS_BEFORE

__all__ = ("CHECK_IN_OPENS_BEFORE",)  # the consultations rule (docs/scheduling.md), as the mails say it
Role = Literal["patient", "doctor"]
Category = Literal["security", "booking", "reminders", "summary"]
"""Which preference a mail answers to (``/users/me/notification-preferences``); ``security``
mails (verification, reset) are always sent."""


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    email: str
    name: str
    timezone: str = "UTC"  # times in the mail are shown in this zone (and in UTC in the .ics)


class Visit(msgspec.Struct, frozen=True, kw_only=True):
    """An appointment as mails show it: who, when (aware datetimes), never why."""

    id: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    doctor_name: str
    patient_name: str


class EmailVerification(msgspec.Struct, frozen=True, kw_only=True, tag="email_verification"):
    """The link carries the token the job holds sealed (``MailJob.secret``)."""

    valid_hours: int = 24


class PasswordReset(msgspec.Struct, frozen=True, kw_only=True, tag="password_reset"):
    """The link carries the single-use token the job holds sealed (``MailJob.secret``)."""

    valid_minutes: int = 30
    requested_by_admin: bool = False


class BookingConfirmation(msgspec.Struct, frozen=True, kw_only=True, tag="booking_confirmation"):
    visit: Visit
    role: Role  # the recipient's side: a patient's confirmation, or a doctor's new booking


class VisitRescheduled(msgspec.Struct, frozen=True, kw_only=True, tag="visit_rescheduled"):
    visit: Visit  # at its new time
    previous_starts_at: dt.datetime
    sequence: int  # the .ics SEQUENCE: higher than every earlier one for this visit (calendar.sequence_at)
    role: Role


class VisitCancelled(msgspec.Struct, frozen=True, kw_only=True, tag="visit_cancelled"):
    visit: Visit
    cancelled_by: Literal["patient", "doctor", "admin", "system"]
    sequence: int
    role: Role


class VisitReminder(msgspec.Struct, frozen=True, kw_only=True, tag="visit_reminder"):
    visit: Visit
    lead: Literal["24h", "1h"]
    check_in_opens_at: dt.datetime
    role: Role


class SummaryReady(msgspec.Struct, frozen=True, kw_only=True, tag="summary_ready"):
    """The mail says a summary is ready, never what it says."""

    visit: Visit


Mail = (
    EmailVerification
    | PasswordReset
    | BookingConfirmation
    | VisitRescheduled
    | VisitCancelled
    | VisitReminder
    | SummaryReady
)


class VisitCondition(msgspec.Struct, frozen=True, kw_only=True):
    """Send only while the visit still starts at ``starts_at``, has not started, and is in one
    of ``statuses``; otherwise the mail is moot (moved, cancelled, passed) and skipped."""

    appointment_id: str
    starts_at: dt.datetime
    statuses: tuple[str, ...] = ("booked", "checked_in")


class MailJob(msgspec.Struct, frozen=True, kw_only=True):
    """The payload of an outbox job of kind ``mail``."""

    to: Recipient
    mail: Mail
    category: Category
    secret: str | None = None  # a token for the link, sealed (secrets.py): the outbox never holds it in clear
    stale_after: dt.datetime | None = None  # skipped when it could only go out later than this (an expired link)
    only_if: VisitCondition | None = None


# -- the product's own notifications (the bell) and mail preferences ------------------------

NotificationKind = Literal[
    "patient_waiting", "admitted", "starting_soon", "booked", "rescheduled", "cancelled", "summary_ready"
]


class NotificationOut(msgspec.Struct, kw_only=True):
    """One stored notification, as ``GET /notifications`` lists it and the ``notification`` frame carries it."""

    id: str
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(msgspec.Struct, kw_only=True):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int
    """How many of the user's notifications are unread (all of them, not only this page)."""


class NotificationPreferences(msgspec.Struct, kw_only=True):
    email_booking: bool = True
    email_reminders: bool = True
    email_summary: bool = True


class NotificationPreferencesPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email_booking: bool | None = None
    email_reminders: bool | None = None
    email_summary: bool | None = None
