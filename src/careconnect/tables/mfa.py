"""The second factor's one-time material: recovery codes and the sign-in challenges between the
password and the code. Both are stored only as SHA-256 digests."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from careconnect.tables.accounts import User


class RecoveryCode(Table, tablename="cc_mfa_recovery_code"):
    """One of the ten codes shown once at enrolment; ``used_at`` is set when it is spent."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    code_hash = Varchar(length=64, index=True)
    created_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class MfaChallenge(Table, tablename="cc_mfa_challenge"):
    """The ``mfa_token`` a right password earns: single use, short-lived, a few tries."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    failures = Integer(default=0)
