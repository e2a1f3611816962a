"""The appointments service as a Litestar dependency: ``Provide(provide_appointments)`` on a controller.

``events`` is an app-level dependency (``app.py``). Litestar resolves a provider's annotations
at startup (so the types are imported at run time) and checks each injected value with
``isinstance``, which a plain ``Protocol`` refuses: the parameter names a runtime-checkable form.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from careconnect.domain.appointments.service import AppointmentsService
from careconnect.events import Events

__all__ = ("InjectedEvents", "provide_appointments")


@runtime_checkable
class InjectedEvents(Events, Protocol):
    """``Events``, checkable when injected."""


def provide_appointments(events: InjectedEvents) -> AppointmentsService:
    """One service per request over the app's ``events``."""
    return AppointmentsService(events)
