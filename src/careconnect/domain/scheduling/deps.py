"""The scheduling service as a Litestar dependency: ``Provide(provide_scheduling)`` on a controller.

``events`` is an app-level dependency (``app.py``), checked on injection as ``InjectedEvents``
(see ``domain/appointments/deps.py``).
"""

from __future__ import annotations

from careconnect.domain.appointments.deps import InjectedEvents
from careconnect.domain.scheduling.service import SchedulingService

__all__ = ("provide_scheduling",)


def provide_scheduling(events: InjectedEvents) -> SchedulingService:
    """One service per request over the app's ``events``."""
    return SchedulingService(events)
