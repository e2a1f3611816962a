"""Wiring: one ``Webhooks`` per app (built in ``create_app`` beside the notifications, its worker
started in the lifespan) and the providers controllers take through ``Provide``."""

from __future__ import annotations

import os
import secrets
import socket
from typing import TYPE_CHECKING, Any

import httpx

from careconnect.domain.notifications.claims import claims_for
from careconnect.domain.notifications.sealing import SecretBox
from careconnect.domain.notifications.worker import RetryPolicy, StreamingWorker
from careconnect.domain.webhooks.delivery import WebhookDelivery
from careconnect.domain.webhooks.events import WEBHOOK, WebhookEvents
from careconnect.domain.webhooks.service import WebhooksService
from careconnect.settings import Settings

if TYPE_CHECKING:
    from piccolo.engine.base import Engine

    from careconnect.domain.notifications.deps import Notifications

__all__ = ("Webhooks", "provide_webhooks")


class Webhooks:
    """The events side (``events``, for the services' transactions) and the delivery worker:
    its own ``StreamingWorker`` over the same outbox, so neither mail nor one slow receiver
    waits for another receiver."""

    def __init__(self, settings: Settings, engine: Engine[Any], notifications: Notifications) -> None:
        self.settings = settings
        self.box = SecretBox(settings.secret_key)
        self.events = WebhookEvents(notifications.outbox)
        timeout = settings.webhook_timeout_s
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the address checks are about the receiver
            limits=httpx.Limits(max_connections=settings.webhook_concurrency, max_keepalive_connections=0),
        )
        holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.worker = StreamingWorker(
            claims_for(engine, holder, lease="webhooks"),
            {WEBHOOK: WebhookDelivery(self.box, self.client, allow_private=settings.webhooks_reach_private)},
            stats=notifications.stats,
            policy=RetryPolicy(
                base_s=settings.webhook_retry_base_s,
                max_s=settings.webhook_retry_max_s,
                give_up_s=settings.webhook_give_up_s,
            ),
            poll_s=settings.outbox_poll_s,
            lease_s=max(settings.outbox_lease_s, 4 * timeout),
            concurrency=settings.webhook_concurrency,
            keep_days=settings.outbox_keep_days,
        )

    async def start(self) -> None:
        if self.settings.outbox_worker:
            await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        await self.client.aclose()


def provide_webhooks(settings: Settings) -> WebhooksService:
    return WebhooksService(SecretBox(settings.secret_key), allow_private=settings.webhooks_reach_private)
