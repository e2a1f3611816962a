"""Providers for the consultation controllers (``Provide(provide_consultations)``).

``events`` and ``message_store`` are app-level dependencies (``app.py``): one ``Events`` and the
hub's own ``MessageStore`` per app. Litestar resolves these annotations at startup (so the types
are imported at runtime).
"""

from __future__ import annotations

from careconnect.domain.consultations.history import HistoryService
from careconnect.domain.consultations.posting import MessagePoster, ServerMessages
from careconnect.domain.consultations.service import ConsultationsService
from careconnect.domain.notifications.mailing import Mailer
from careconnect.domain.notifications.visit_mail import VisitMails
from careconnect.domain.webhooks.events import WebhookEvents
from careconnect.events import Events
from careconnect.hub.store import MessageStore


def provide_consultations(
    events: Events, message_store: MessageStore, mailer: Mailer, webhook_events: WebhookEvents
) -> ConsultationsService:
    return ConsultationsService(events, message_store, VisitMails(mailer), webhook_events)


def provide_server_messages(events: Events) -> ServerMessages:
    """The server API's service over the app's ``events``, which must be able to post (the hub's)."""
    if not isinstance(events, MessagePoster):  # checked once, where it is wired
        raise TypeError("the server API needs events that post into rooms (realtime.HubEvents)")
    return ServerMessages(events)


def provide_history() -> HistoryService:
    return HistoryService()
