"""Providers of the accounts services, for the controllers' ``Provide`` (litestar-fullstack style).

Each takes the app-level dependencies by name (``settings``, ``session_check``, ``throttles``,
registered once in ``create_app``; ``mailer`` and ``events`` for recovery). The parameter types are imported at run time: Litestar reads
a provider's signature to inject and check its arguments.
"""

from __future__ import annotations

from careconnect.domain.accounts.mfa import MfaService
from careconnect.domain.accounts.recovery import RecoveryService
from careconnect.domain.accounts.service import AccountsService
from careconnect.domain.accounts.sessions import SessionCheck
from careconnect.domain.accounts.throttle import Throttles
from careconnect.domain.admin.service import LiveConnections
from careconnect.domain.notifications.mailing import Mailer
from careconnect.settings import Settings

__all__ = ("provide_accounts", "provide_mfa", "provide_recovery")


def provide_accounts(settings: Settings, session_check: SessionCheck, throttles: Throttles) -> AccountsService:
    return AccountsService(settings, session_check, throttles)


def provide_mfa(settings: Settings, session_check: SessionCheck, throttles: Throttles) -> MfaService:
    return MfaService(settings, session_check, throttles)


def provide_recovery(
    settings: Settings, session_check: SessionCheck, throttles: Throttles, mailer: Mailer, events: LiveConnections
) -> RecoveryService:
    return RecoveryService(settings, session_check, throttles, mailer, events)
