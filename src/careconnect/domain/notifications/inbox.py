"""The product's notifications (the bell): stored per user, listed a page at a time, read one
by one or all at once, and pushed live in ``user:<id>`` once the event that caused them commits.
And the user's mail preferences, which the mail handler asks at send time (``StoredPreferences``).

A service creates a notification inside its event's transaction (``Inbox.add`` returns the
stored notification, or None when this event already made it) and hands it to
``Events.notification_created`` after the commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from careconnect.domain.errors import NotFound
from careconnect.domain.notifications.schemas import (
    Category,
    NotificationKind,
    NotificationOut,
    NotificationPage,
    NotificationPreferences,
    NotificationPreferencesPatch,
)
from careconnect.pagination import clamp_limit, decode_time_cursor, encode_cursor
from careconnect.tables.notifications import Notification, NotificationPreference

if TYPE_CHECKING:
    from collections.abc import Mapping

    from careconnect.events import Events

UTC = dt.UTC
_COLUMNS = (
    Notification.id,
    Notification.kind,
    Notification.title,
    Notification.body,
    Notification.link,
    Notification.created_at,
    Notification.read_at,
)


def _out(row: Mapping[str, Any]) -> NotificationOut:
    return NotificationOut(
        id=str(row["id"]),
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        link=row["link"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("No such notification.") from None


async def add(
    user_id: str, kind: NotificationKind, title: str, body: str, link: str, *, key: str
) -> NotificationOut | None:
    """Store one notification (in the caller's transaction, if any); None when ``key`` (the
    event, e.g. ``booked:<visit>:<user>``) already made one."""
    if await Notification.exists().where(Notification.dedupe_key == key):
        return None
    now = dt.datetime.now(UTC)
    row_id = uuid.uuid4()
    await Notification.insert(
        Notification(
            id=row_id,
            user=user_id,
            kind=kind,
            title=title[:200],
            body=body,
            link=link[:500],
            dedupe_key=key[:255],
            created_at=now,
        )
    )
    return NotificationOut(
        id=str(row_id), kind=kind, title=title[:200], body=body, link=link[:500], created_at=now, read_at=None
    )


async def push(events: Events, pending: list[tuple[str, NotificationOut]]) -> None:
    """Announce notifications stored in a transaction that has committed; empties ``pending``."""
    for user_id, notification in pending:
        await events.notification_created(user_id, notification)
    pending.clear()


class Inbox:
    """One user's notifications and mail preferences (the REST side)."""

    async def page(
        self, user_id: str, *, unread: bool = False, limit: int | None = None, cursor: str | None = None
    ) -> NotificationPage:
        """Newest first; ``unread`` lists only the unread ones; ``unread`` in the answer counts them all."""
        size = clamp_limit(limit)
        mine = Notification.user == user_id
        query = Notification.select(*_COLUMNS).where(mine)
        if unread:
            query = query.where(Notification.read_at.is_null())
        if cursor:
            at, last_id = decode_time_cursor(cursor)
            query = query.where(
                (Notification.created_at < at) | ((Notification.created_at == at) & (Notification.id < last_id))
            )
        rows = await query.order_by(Notification.created_at, Notification.id, ascending=False).limit(size + 1)
        next_cursor = None
        if len(rows) > size:
            last = rows[size - 1]
            next_cursor = encode_cursor(last["created_at"].astimezone(UTC).isoformat(), str(last["id"]))
        count = await Notification.count().where(mine & Notification.read_at.is_null())
        return NotificationPage(items=[_out(r) for r in rows[:size]], next_cursor=next_cursor, unread=count)

    async def read(self, user_id: str, notification_id: str) -> NotificationOut:
        """Mark one of the user's own notifications read (another user's, or none: ``NotFound``)."""
        key = _id(notification_id)
        mine = (Notification.id == key) & (Notification.user == user_id)
        await Notification.update({Notification.read_at: dt.datetime.now(UTC)}).where(
            mine & Notification.read_at.is_null()
        )
        row = await Notification.select(*_COLUMNS).where(mine).first()
        if row is None:
            raise NotFound("No such notification.")
        return _out(row)

    async def read_all(self, user_id: str) -> NotificationPage:
        """Mark all of the user's notifications read; answers the first page."""
        await Notification.update({Notification.read_at: dt.datetime.now(UTC)}).where(
            (Notification.user == user_id) & Notification.read_at.is_null()
        )
        return await self.page(user_id)

    async def preferences(self, user_id: str) -> NotificationPreferences:
        row = (
            await NotificationPreference.select(
                NotificationPreference.email_booking,
                NotificationPreference.email_reminders,
                NotificationPreference.email_summary,
            )
            .where(NotificationPreference.user == user_id)
            .first()
        )
        return NotificationPreferences(**row) if row else NotificationPreferences()

    async def set_preferences(self, user_id: str, patch: NotificationPreferencesPatch) -> NotificationPreferences:
        current = await self.preferences(user_id)
        wanted = NotificationPreferences(
            email_booking=current.email_booking if patch.email_booking is None else patch.email_booking,
            email_reminders=current.email_reminders if patch.email_reminders is None else patch.email_reminders,
            email_summary=current.email_summary if patch.email_summary is None else patch.email_summary,
        )
        values: dict[Any, Any] = {
            NotificationPreference.email_booking: wanted.email_booking,
            NotificationPreference.email_reminders: wanted.email_reminders,
            NotificationPreference.email_summary: wanted.email_summary,
            NotificationPreference.updated_at: dt.datetime.now(UTC),
        }
        updated = (
            await NotificationPreference.update(values)
            .where(NotificationPreference.user == user_id)
            .returning(NotificationPreference.id)
        )
        if not updated:
            try:
                await NotificationPreference.insert(
                    NotificationPreference(_data={NotificationPreference.user: user_id, **values})
                )
            except Exception as exc:  # noqa: BLE001 - a concurrent first PATCH inserted it: update instead
                if "unique" not in str(exc).lower() and "duplicate" not in str(exc).lower():
                    raise
                await NotificationPreference.update(values).where(NotificationPreference.user == user_id)
        return wanted


class StoredPreferences:
    """``MailPreferences`` over the stored preferences: asked by the mail handler at send time."""

    _COLUMN = {"booking": "email_booking", "reminders": "email_reminders", "summary": "email_summary"}

    async def wants(self, user_id: str, category: Category) -> bool:
        column = self._COLUMN.get(category)
        if column is None:  # security mails never ask
            return True
        try:
            user = uuid.UUID(user_id)
        except ValueError:
            return True
        prefs = await Inbox().preferences(str(user))
        return bool(getattr(prefs, column))
