"""The provider of ``AdminService``, for the admin controller's ``Provide``.

It takes the app-level ``session_check`` and ``events`` by name; the parameter types are imported
at run time because Litestar reads a provider's signature to inject and check its arguments
(``LiveConnections`` is a runtime-checkable protocol that ``careconnect.events.Events`` satisfies).
"""

from __future__ import annotations

from careconnect.domain.accounts.sessions import SessionCheck
from careconnect.domain.admin.service import AdminService, LiveConnections
from careconnect.domain.notifications.mailing import Mailer

__all__ = ("provide_admin",)


def provide_admin(session_check: SessionCheck, events: LiveConnections, mailer: Mailer) -> AdminService:
    return AdminService(session_check, events, mailer)
