"""Request and response Structs of accounts: sign-up, sign-in, the own account, MFA, user pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from careconnect.hub.bounds import TEXT_PATTERN as TEXT

# Every string a client sends matches TEXT: no NUL, no lone surrogate (careconnect.hub.bounds, the
# hub's rule too), so nothing a client types can fail a database write with a 500.

Email = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s\x00\ud800-\udfff]+@[^@\s\x00\ud800-\udfff]+\.[^@\s\x00\ud800-\udfff]+$",
    ),
]
Password = Annotated[str, Meta(min_length=10, max_length=128, pattern=TEXT)]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT)]
TimeZoneName = Annotated[str, Meta(min_length=1, max_length=64, pattern=TEXT)]
ShortText = Annotated[str, Meta(max_length=100, pattern=TEXT)]


class DoctorInfo(msgspec.Struct, kw_only=True):
    specialty: Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT)]
    bio: Annotated[str, Meta(max_length=4000, pattern=TEXT)] = ""
    languages: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=50, pattern=TEXT)]], Meta(max_length=20)
    ] = []
    license_number: Annotated[str, Meta(max_length=64, pattern=TEXT)] | None = None


class DoctorPatch(msgspec.Struct, kw_only=True, omit_defaults=True):
    specialty: Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT)] | None = None
    bio: Annotated[str, Meta(max_length=4000, pattern=TEXT)] | None = None
    languages: (
        Annotated[list[Annotated[str, Meta(min_length=1, max_length=50, pattern=TEXT)]], Meta(max_length=20)] | None
    ) = None
    license_number: Annotated[str, Meta(max_length=64, pattern=TEXT)] | None = None


Verification = Literal["pending", "approved", "rejected"]


class DoctorOut(DoctorInfo, kw_only=True):
    """A doctor's profile as the API shows it: what they entered and where their vetting stands."""

    verification: Verification


class PatientInfo(msgspec.Struct, kw_only=True):
    share_history: bool


class PatientPatch(msgspec.Struct, kw_only=True, omit_defaults=True):
    share_history: bool | None = None


class UserOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    email: str
    full_name: str
    role: str
    timezone: str
    created_at: dt.datetime
    doctor: DoctorOut | None = None
    patient: PatientInfo | None = None
    disabled: bool = False
    email_verified: bool  # always present (omit_defaults would drop a false)


class RegisterIn(msgspec.Struct, kw_only=True):
    email: Email
    password: Password
    full_name: Name
    role: Literal["patient", "doctor"]
    timezone: TimeZoneName | None = None
    doctor: DoctorInfo | None = None


class LoginIn(msgspec.Struct, kw_only=True):
    email: Annotated[str, Meta(max_length=254, pattern=TEXT)]
    password: Annotated[str, Meta(max_length=128, pattern=TEXT)]


class TokenOut(msgspec.Struct, kw_only=True):
    access_token: str
    expires_in: int
    user: UserOut
    token_type: str = "Bearer"


class ClientCredentialsIn(msgspec.Struct, kw_only=True):
    grant_type: Literal["client_credentials"]
    client_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=TEXT)]
    client_secret: Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT)]


class UserPatch(msgspec.Struct, kw_only=True, omit_defaults=True):
    full_name: Name | None = None
    timezone: TimeZoneName | None = None
    doctor: DoctorPatch | None = None
    patient: PatientPatch | None = None


class PasswordChangeIn(msgspec.Struct, kw_only=True):
    current_password: Annotated[str, Meta(max_length=128, pattern=TEXT)]
    new_password: Password


class UserPage(msgspec.Struct, kw_only=True):
    items: list[UserOut]
    next_cursor: str | None


# issue 15: MFA
MfaCode = Annotated[str, Meta(min_length=1, max_length=32)]


class MfaLoginIn(msgspec.Struct, kw_only=True):
    mfa_token: Annotated[str, Meta(min_length=1, max_length=128)]
    code: MfaCode


class MfaCodeIn(msgspec.Struct, kw_only=True):
    code: MfaCode


class MfaDisableIn(msgspec.Struct, kw_only=True):
    password: Annotated[str, Meta(max_length=128)]
    code: MfaCode


class TotpEnrolmentOut(msgspec.Struct, kw_only=True):
    secret: str
    otpauth_uri: str


class RecoveryCodesOut(msgspec.Struct, kw_only=True):
    recovery_codes: list[str]


class MfaStatusOut(msgspec.Struct, kw_only=True):
    enabled: bool
    required: bool
    recovery_codes_left: int


# issue 17: account recovery and verification
LinkToken = Annotated[str, Meta(min_length=1, max_length=128, pattern=TEXT)]


class VerifyEmailIn(msgspec.Struct, kw_only=True):
    token: LinkToken


class PasswordResetRequestIn(msgspec.Struct, kw_only=True):
    email: Annotated[str, Meta(min_length=1, max_length=254, pattern=TEXT)]


class PasswordResetIn(msgspec.Struct, kw_only=True):
    token: LinkToken
    new_password: Password


class AcceptedOut(msgspec.Struct, kw_only=True):
    """A 202: the request was taken; what happens next happens by mail."""

    detail: str
