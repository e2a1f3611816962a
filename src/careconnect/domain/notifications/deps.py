"""Wiring: one ``Notifications`` per app (built in ``create_app``, its worker started in the
lifespan) and the providers controllers and services take through ``Provide``."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from careconnect.domain.notifications.claims import claims_for
from careconnect.domain.notifications.inbox import Inbox, StoredPreferences
from careconnect.domain.notifications.jobs import JobKinds
from careconnect.domain.notifications.mailing import MAIL, Mailer, MailHandler, MailPreferences
from careconnect.domain.notifications.outbox import Outbox, OutboxStats
from careconnect.domain.notifications.sealing import SecretBox
from careconnect.domain.notifications.templates import Renderer
from careconnect.domain.notifications.worker import OutboxWorker, RetryPolicy
from careconnect.mail import FileTransport, MailTransport, SmtpTransport, parse_smtp_url

if TYPE_CHECKING:
    from piccolo.engine.base import Engine

    from careconnect.settings import Settings

log = logging.getLogger("careconnect.mail")


class Notifications:
    """The outbox, its worker and the mailer of one app; ``kinds`` is where new job kinds register."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine[Any],
        *,
        transport: MailTransport | None = None,
        preferences: MailPreferences | None = None,
    ) -> None:
        self.settings = settings
        self.stats = OutboxStats()
        self.outbox = Outbox(self.stats)
        self.transport = transport or transport_for(settings)
        box = SecretBox(settings.secret_key)
        self.mailer = Mailer(self.outbox, box)
        self.kinds = JobKinds(
            {
                MAIL: MailHandler(
                    self.transport,
                    Renderer(settings.public_url, settings.mail_from),
                    box,
                    sender=settings.mail_from,
                    preferences=preferences or StoredPreferences(),
                )
            }
        )
        holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.worker = OutboxWorker(
            claims_for(engine, holder),
            self.kinds,
            stats=self.stats,
            policy=RetryPolicy(
                base_s=settings.outbox_retry_base_s,
                max_s=settings.outbox_retry_max_s,
                give_up_s=settings.outbox_give_up_s,
            ),
            poll_s=settings.outbox_poll_s,
            lease_s=settings.outbox_lease_s,
            concurrency=settings.outbox_concurrency,
            keep_days=settings.outbox_keep_days,
        )

    async def start(self) -> None:
        """Start the worker (unless ``OUTBOX_WORKER=false``); call once the tables are bound."""
        if self.settings.outbox_worker:
            await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()


def transport_for(settings: Settings) -> MailTransport:
    """SMTP when ``SMTP_URL`` is set, else ``.eml`` files under ``MAIL_DIR``."""
    if settings.smtp_url:
        return SmtpTransport(
            parse_smtp_url(settings.smtp_url),
            connect_timeout_s=settings.smtp_connect_timeout_s,
            timeout_s=settings.smtp_timeout_s,
            ca_file=settings.smtp_ca_file,
        )
    if settings.environment == "production":
        log.warning("SMTP_URL is not set: mails are written to %s and nobody receives them", settings.mail_dir)
    return FileTransport(Path(settings.mail_dir))


def provide_inbox() -> Inbox:
    return Inbox()


def provide_outbox(notifications: Notifications) -> Outbox:
    return notifications.outbox


def provide_mailer(notifications: Notifications) -> Mailer:
    return notifications.mailer
