"""Carrying out a webhook delivery (an outbox job of kind ``webhook``).

One POST of the event's JSON, signed (``signing.py``), to the address the URL was checked to
resolve to (``addresses.py``), with a timeout and no redirects. A 2xx answer is success; any
other answer, a timeout or a refused connection raises, and the outbox tries again with
exponential backoff and jitter (``WEBHOOK_RETRY_BASE_S`` doubling up to ``WEBHOOK_RETRY_MAX_S``)
until ``WEBHOOK_GIVE_UP_S`` (24 h) after the first attempt: at least once, with the event's id
to dedupe on.

Order: an appointment's events reach each webhook in the order they happened. Before sending,
the job looks for an earlier pending job of its topic (the same webhook and appointment); while
there is one it waits (``NotYet``, which is no attempt) and goes once that one was delivered or
given up on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import msgspec

from careconnect.domain.notifications.jobs import GiveUp, NotYet, Outcome, Sent, Skipped
from careconnect.domain.notifications.outbox import PENDING, utc_now
from careconnect.domain.webhooks.addresses import resolve
from careconnect.domain.webhooks.events import WEBHOOK
from careconnect.domain.webhooks.schemas import Delivery
from careconnect.domain.webhooks.service import sealing_context
from careconnect.domain.webhooks.signing import HEADER, signature_header
from careconnect.tables import Webhook
from careconnect.tables.outbox import OutboxJob

if TYPE_CHECKING:
    from careconnect.domain.notifications.outbox import Job
    from careconnect.domain.notifications.sealing import SecretBox

USER_AGENT = "CareConnect-Webhooks/1"
WAIT_FOR_IN_FLIGHT = dt.timedelta(seconds=1)


class DeliveryFailed(Exception):
    """The receiver did not take the event (a non-2xx answer); it is tried again."""


class WebhookDelivery:
    """The ``webhook`` job kind.

    Args:
        box: opens the webhooks' sealed secrets.
        client: the HTTP client deliveries go through (its timeouts bound each one).
        allow_private: ``WEBHOOK_ALLOW_PRIVATE``: may a delivery reach a private address?
    """

    def __init__(
        self,
        box: SecretBox,
        client: httpx.AsyncClient,
        *,
        allow_private: bool,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.box = box
        self.client = client
        self.allow_private = allow_private
        self.clock = clock

    async def __call__(self, job: Job) -> Outcome:
        delivery = job.decode_or_give_up(Delivery, "a webhook delivery")
        hook = (
            await Webhook.select(Webhook.url, Webhook.secret_sealed, Webhook.deleted_at)
            .where(Webhook.id == delivery.webhook_id)
            .first()
        )
        if hook is None or hook["deleted_at"] is not None:
            return Skipped("the webhook was deleted")
        await self._after_earlier_ones(job)
        secret = self.box.open(hook["secret_sealed"], sealing_context(delivery.webhook_id))
        if secret is None:
            raise GiveUp("the webhook's secret does not open (SECRET_KEY changed?)")
        body = msgspec.json.encode(delivery.event)
        target = await resolve(hook["url"], allow_private=self.allow_private)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Host": target.host,
            HEADER: signature_header(secret, int(self.clock().timestamp()), body),
            "CareConnect-Event-Id": delivery.event.id,
            "CareConnect-Event-Type": delivery.event.type,
            "CareConnect-Delivery-Attempt": str(job.attempts),
        }
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        response = await self.client.post(target.url, content=body, headers=headers, extensions=extensions)
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"the receiver answered HTTP {response.status_code}")
        return Sent()

    async def _after_earlier_ones(self, job: Job) -> None:
        """``NotYet`` while an earlier event of this job's topic is still to be delivered."""
        if job.topic is None:
            return
        mine = await OutboxJob.select(OutboxJob.created_at).where(OutboxJob.id == job.id).first()
        if mine is None:
            return
        created = mine["created_at"]
        earlier = (
            await OutboxJob.select(OutboxJob.id, OutboxJob.run_at, OutboxJob.claimed_until)
            .where(
                (OutboxJob.topic == job.topic)
                & (OutboxJob.kind == WEBHOOK)
                & (OutboxJob.status == PENDING)
                & (OutboxJob.id != job.id)
                & ((OutboxJob.created_at < created) | ((OutboxJob.created_at == created) & (OutboxJob.id < job.id)))
            )
            .order_by(OutboxJob.created_at)
            .first()
        )
        if earlier is None:
            return
        now = self.clock()
        until = now + WAIT_FOR_IN_FLIGHT
        claimed = earlier["claimed_until"]
        if (claimed is None or claimed < now) and earlier["run_at"] > until:
            until = earlier["run_at"] + WAIT_FOR_IN_FLIGHT  # it waits for its next attempt: so does this one
        raise NotYet(until, f"waits for the earlier event in job {earlier['id']}")
