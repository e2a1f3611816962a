"""The scheduling service as a Litestar dependency: ``Provide(provide_scheduling)`` on a controller.

``events`` and ``mailer`` are app-level dependencies (``app.py``).
"""

from __future__ import annotations

from careconnect.domain.notifications.mailing import Mailer
from careconnect.domain.notifications.visit_mail import VisitMails
from careconnect.domain.scheduling.service import SchedulingService
from careconnect.events import Events

__all__ = ("provide_scheduling",)


def provide_scheduling(events: Events, mailer: Mailer) -> SchedulingService:
    """One service per request over the app's ``events`` and ``mailer``."""
    return SchedulingService(events, VisitMails(mailer))
