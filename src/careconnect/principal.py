"""Who is asking: the authenticated user of a request or a socket."""

from __future__ import annotations

import msgspec


class Principal(msgspec.Struct, frozen=True):
    id: str
    role: str  # patient | doctor | admin | bot
    name: str
    session_id: str
    expires_at: int = 0
    # MFA_REQUIRED_ROLES names this role and the account has no active second factor yet.
    needs_mfa_enrolment: bool = False
