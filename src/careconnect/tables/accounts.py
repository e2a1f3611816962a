"""Users, doctor profiles, login sessions (refresh-token families) and bot integrations."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    ForeignKey,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class User(Table, tablename="cc_user"):
    """A person or a bot. ``email`` is stored lower-cased, so uniqueness is case-insensitive."""

    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True, index=True)
    password_hash = Varchar(length=255, default="")
    full_name = Varchar(length=200)
    role = Varchar(length=16, index=True)  # patient | doctor | admin | bot
    timezone = Varchar(length=64, default="UTC")
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)
    # issue 15: MFA. The TOTP secret is sealed (AES-GCM, key from SECRET_KEY; careconnect.totp);
    # it is active once ``mfa_enabled_at`` is set; ``totp_last_step`` is the last accepted time
    # step, so a code is never accepted twice.
    totp_secret = Text(default="")
    mfa_enabled_at = Timestamptz(null=True, default=None)
    totp_last_step = BigInt(null=True, default=None)
    # A patient's choice: may every doctor they have a live appointment with read the visits with
    # other doctors (intake and summary, never notes)? Off until the patient turns it on.
    share_history = Boolean(default=False)
    # issue 17: the address was proven (a verification link or a password reset was followed).
    email_verified = Boolean(default=False)


class DoctorProfile(Table, tablename="cc_doctor_profile"):
    user = ForeignKey(references=User, unique=True, on_delete=OnDelete.cascade)
    specialty = Varchar(length=100, index=True)
    bio = Text(default="")
    languages = JSON(default=[])
    license_number = Varchar(length=64, null=True, default=None)
    # pending | approved | rejected: only approved doctors are listed, bookable and see patients.
    verification = Varchar(length=16, default="approved", index=True)


class AuthSession(Table, tablename="cc_auth_session"):
    """One login: the family of refresh tokens descended from it. ``id`` is the JWT ``sid``."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=16, default="password")  # password | client
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoked_reason = Varchar(length=64, null=True, default=None)
    user_agent = Varchar(length=300, default="")
    ip = Varchar(length=64, default="")
    # Limits (SESSION_MAX_HOURS, SESSION_IDLE_MINUTES): the login's absolute end, and its last refresh.
    expires_at = Timestamptz(null=True, default=None)
    last_refreshed_at = Timestamptz(null=True, default=None)


class RefreshToken(Table, tablename="cc_refresh_token"):
    """An opaque refresh token, stored as its SHA-256; ``rotated_at`` set once it was used."""

    id = UUID(primary_key=True)
    session = ForeignKey(references=AuthSession, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    rotated_at = Timestamptz(null=True, default=None)


class Integration(Table, tablename="cc_integration"):
    """A bot client. It acts as its own ``bot`` user; the secret is stored as an argon2 hash."""

    id = UUID(primary_key=True)
    name = Varchar(length=100)
    client_id = Varchar(length=64, unique=True, index=True)
    secret_hash = Varchar(length=255)
    bot_user = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz()
    # issue 21: what the integration may do beyond joining the rooms it is invited to, e.g.
    # ``["publish"]`` (the server API, POST /rooms/{room}/messages). Empty by default.
    scopes = JSON(default=[])


class AccountToken(Table, tablename="cc_account_token"):
    """A mailed single-use link token (``verify_email`` or ``password_reset``), stored only as its
    SHA-256; ``used_at`` is set when it is spent or superseded by a newer one."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=16)  # verify_email | password_reset
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
