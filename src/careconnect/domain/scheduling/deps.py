"""The scheduling service as a Litestar dependency: ``Provide(provide_scheduling)`` on a controller.

``events`` is an app-level dependency (``app.py``).
"""

from __future__ import annotations

from careconnect.domain.scheduling.service import SchedulingService
from careconnect.events import Events

__all__ = ("provide_scheduling",)


def provide_scheduling(events: Events) -> SchedulingService:
    """One service per request over the app's ``events``."""
    return SchedulingService(events)
