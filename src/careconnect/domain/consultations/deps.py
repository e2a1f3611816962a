"""Providers for the consultation controllers (``Provide(provide_consultations)``).

``events`` and ``message_store`` are app-level dependencies (``app.py``): one ``Events`` and the
hub's own ``MessageStore`` per app. Litestar resolves these annotations at startup (so the types
are imported at runtime) and checks each injected value with ``isinstance``, which a plain
``Protocol`` refuses: the parameters name runtime-checkable forms of the two ports.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from careconnect.domain.consultations.history import HistoryService
from careconnect.domain.consultations.service import ConsultationsService
from careconnect.events import Events
from careconnect.hub.store import MessageStore


@runtime_checkable
class InjectedEvents(Events, Protocol):
    """``Events``, checkable when injected."""


@runtime_checkable
class InjectedStore(MessageStore, Protocol):
    """``MessageStore``, checkable when injected."""


def provide_consultations(events: InjectedEvents, message_store: InjectedStore) -> ConsultationsService:
    return ConsultationsService(events, message_store)


def provide_history() -> HistoryService:
    return HistoryService()
