"""The appointments service as a Litestar dependency: ``Provide(provide_appointments)`` on a controller.

``events`` is an app-level dependency (``app.py``); Litestar resolves a provider's annotations
at startup, so the types are imported at run time.
"""

from __future__ import annotations

from careconnect.domain.appointments.service import AppointmentsService
from careconnect.domain.notifications.visit_mail import VisitMails
from careconnect.events import Events

__all__ = ("provide_appointments",)


def provide_appointments(events: Events) -> AppointmentsService:
    """One service per request over the app's ``events`` (status moves store their notifications)."""
    return AppointmentsService(events, VisitMails())
