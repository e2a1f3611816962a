"""The admin's webhooks: make one (its secret shown once), list them, delete one. Every write is
an audit entry with its outcome, refusals included, as every admin action is."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from careconnect.domain.accounts.users import parse_uuid
from careconnect.domain.admin.service import audited
from careconnect.domain.errors import invalid, not_found
from careconnect.domain.webhooks.addresses import RefusedAddress, check_url, resolve
from careconnect.domain.webhooks.schemas import EVENT_TYPES, WebhookCreated, WebhookIn, WebhookOut, WebhookPage
from careconnect.pagination import clamp_limit, decode_time_cursor, encode_cursor
from careconnect.tables import Webhook

if TYPE_CHECKING:
    from collections.abc import Mapping

    from careconnect.domain.notifications.sealing import SecretBox
    from careconnect.principal import Principal

SECRET_PREFIX = "whsec_"


def sealing_context(webhook_id: str) -> str:
    """The sealed secret's associated data: it opens only as this webhook's."""
    return f"webhook:{webhook_id}"


def _out(row: Mapping[str, Any]) -> WebhookOut:
    events = [e for e in row["events"] if e in EVENT_TYPES] if isinstance(row["events"], list) else []
    return WebhookOut(id=str(row["id"]), url=row["url"], events=events, created_at=row["created_at"])


class WebhooksService:
    """Args: the box that seals secrets (``SECRET_KEY``), and whether private addresses are allowed."""

    def __init__(self, box: SecretBox, *, allow_private: bool) -> None:
        self.box = box
        self.allow_private = allow_private

    async def create(self, admin: Principal, data: WebhookIn, scope: Mapping[str, Any]) -> WebhookCreated:
        webhook_id = str(uuid.uuid4())
        async with audited(scope, admin, "webhook.create", "webhook", webhook_id):
            events = list(dict.fromkeys(data.events))
            if not events:
                raise invalid("events", f"name at least one of {', '.join(EVENT_TYPES)}")
            url = check_url(data.url, allow_private=self.allow_private)
            try:
                await resolve(url, allow_private=self.allow_private)
            except RefusedAddress as exc:
                raise invalid("url", str(exc)) from None
            secret = SECRET_PREFIX + secrets.token_urlsafe(32)
            now = dt.datetime.now(dt.UTC)
            await Webhook.insert(
                Webhook(
                    id=webhook_id,
                    url=url,
                    events=events,
                    secret_sealed=self.box.seal(secret, sealing_context(webhook_id)),
                    created_by=admin.id,
                    created_at=now,
                )
            )
        return WebhookCreated(id=webhook_id, url=url, events=events, created_at=now, secret=secret)

    async def page(self, *, limit: int | None, cursor: str | None) -> WebhookPage:
        """Live webhooks, newest first; never their secrets."""
        size = clamp_limit(limit)
        query = Webhook.select(Webhook.id, Webhook.url, Webhook.events, Webhook.created_at).where(
            Webhook.deleted_at.is_null()
        )
        if cursor:
            at, last_id = decode_time_cursor(cursor)
            query = query.where((Webhook.created_at < at) | ((Webhook.created_at == at) & (Webhook.id < last_id)))
        rows = (
            await query.output(load_json=True)
            .order_by(Webhook.created_at, ascending=False)
            .order_by(Webhook.id, ascending=False)
            .limit(size + 1)
        )
        next_cursor = None
        if len(rows) > size:
            last = rows[size - 1]
            next_cursor = encode_cursor(last["created_at"].isoformat(), str(last["id"]))
        return WebhookPage(items=[_out(r) for r in rows[:size]], next_cursor=next_cursor)

    async def delete(self, admin: Principal, webhook_id: str, scope: Mapping[str, Any]) -> None:
        """It takes no new events at once; deliveries already queued are skipped when they come up."""
        async with audited(scope, admin, "webhook.delete", "webhook", webhook_id):
            uid = parse_uuid(webhook_id, "webhook")
            gone = (
                await Webhook.update({Webhook.deleted_at: dt.datetime.now(dt.UTC)})
                .where((Webhook.id == uid) & Webhook.deleted_at.is_null())
                .returning(Webhook.id)
            )
            if not gone:
                raise not_found("webhook")
