"""The scheduling service as a Litestar dependency: ``Provide(provide_scheduling)`` on a controller.

``events`` and ``mailer`` are app-level dependencies (``app.py``).
"""

from __future__ import annotations

from careconnect.domain.notifications.mailing import Mailer
from careconnect.domain.notifications.visit_mail import VisitMails
from careconnect.domain.scheduling.service import SchedulingService
from careconnect.domain.webhooks.events import WebhookEvents
from careconnect.events import Events

__all__ = ("provide_scheduling",)


def provide_scheduling(events: Events, mailer: Mailer, webhook_events: WebhookEvents) -> SchedulingService:
    """One service per request over the app's ``events``, ``mailer`` and ``webhook_events``."""
    return SchedulingService(events, VisitMails(mailer), webhook_events)
