"""What a user is told in the product: stored notifications (the bell) and mail preferences."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from careconnect.tables.accounts import User


class Notification(Table, tablename="cc_notification"):
    """One notification for one user: ``kind`` (``patient_waiting``, ``admitted``, ``booked``,
    ``rescheduled``, ``cancelled``, ``summary_ready``, ``starting_soon``), a short title and body
    (who and when, never why), the web path it leads to, and when it was read (null: unread)."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=32)
    title = Varchar(length=200)
    body = Text(default="")
    link = Varchar(length=500, default="")
    dedupe_key = Varchar(length=255, unique=True)
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class NotificationPreference(Table, tablename="cc_notification_preference"):
    """A user's mail preferences; no row means the defaults (everything on)."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, unique=True)
    email_booking = Boolean(default=True)
    email_reminders = Boolean(default=True)
    email_summary = Boolean(default=True)
    updated_at = Timestamptz()
