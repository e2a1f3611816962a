"""The TOTP second factor: enrolment, confirmation with recovery codes, disabling, and the
sign-in challenge between a right password and a right code.

Every one-time thing is spent with a conditional UPDATE, so two concurrent requests can never
both use it: a challenge (``used_at IS NULL``), a recovery code (``used_at IS NULL``) and a TOTP
time step (``totp_last_step < step``: a code, once accepted, is never accepted again, nor is any
older one). Each change and each failed code is an audit entry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from careconnect import totp
from careconnect.domain.accounts.schemas import MfaStatusOut, RecoveryCodesOut, TotpEnrolmentOut
from careconnect.domain.audit import service as audit
from careconnect.domain.errors import Conflict, Forbidden, RateLimited, Unauthenticated, invalid, not_found
from careconnect.principal import Principal
from careconnect.security import new_opaque_token, token_digest, verify_password
from careconnect.tables import AuthSession, MfaChallenge, RecoveryCode, User

if TYPE_CHECKING:
    from collections.abc import Mapping

    from careconnect.domain.accounts.sessions import SessionCheck
    from careconnect.domain.accounts.throttle import Throttles
    from careconnect.settings import Settings

CHALLENGE_MINUTES = 5
CHALLENGE_TRIES = 5
# Across challenges: a right password earns a new mfa_token, so wrong codes are also capped per
# account (from the challenges' own counters) until the shared throttle's `mfa` policy is wired.
ACCOUNT_FAILURES = 20
ACCOUNT_WINDOW = dt.timedelta(minutes=15)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def actor_of(user: dict[str, Any]) -> Principal:
    return Principal(id=str(user["id"]), role=user["role"], name=user["full_name"], session_id="")


async def _user(user_id: str) -> dict[str, Any]:
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise not_found("user")
    return row


async def _forget_sessions(session_check: SessionCheck, user_id: str) -> None:
    """This worker sees the factor's new state at once; other workers within the session-check TTL."""
    for row in await AuthSession.select(AuthSession.id).where(AuthSession.user == user_id):
        session_check.forget(str(row["id"]))


async def _record(user: dict[str, Any], action: str, outcome: str, scope: Mapping[str, Any]) -> None:
    await audit.record(
        actor=actor_of(user),
        action=action,
        resource_type="user",
        resource_id=str(user["id"]),
        outcome=outcome,
        scope=scope,
    )


async def start_enrolment(settings: Settings, user_id: str, scope: Mapping[str, Any]) -> tuple[str, str]:
    """A new secret, not active until confirmed; returns (secret, otpauth URI)."""
    user = await _user(user_id)
    if user["mfa_enabled_at"] is not None:
        raise Conflict("A second factor is already active: disable it first to enrol a new one.")
    secret = totp.new_secret()
    await User.update(
        {User.totp_secret: totp.seal(settings.secret_key, user_id, secret), User.totp_last_step: None}
    ).where((User.id == user_id) & User.mfa_enabled_at.is_null())
    await _record(user, "mfa.totp.enrol", "success", scope)
    return secret, totp.otpauth_uri(secret, user["email"])


async def confirm_enrolment(
    settings: Settings, session_check: SessionCheck, user_id: str, code: str, scope: Mapping[str, Any]
) -> list[str]:
    """Activate the pending secret with a code from it; returns the ten recovery codes (shown once)."""
    user = await _user(user_id)
    if user["mfa_enabled_at"] is not None:
        raise Conflict("The second factor is already active.")
    secret = totp.unseal(settings.secret_key, user_id, user["totp_secret"])
    if secret is None:
        raise Conflict("Start the enrolment first: POST /api/v1/users/me/mfa/totp.", code="invalid_state")
    step = totp.matching_step(secret, totp.normalize(code))
    if step is None:
        await _record(user, "mfa.code.fail", "denied", scope)
        raise invalid("code", "that code does not match: enter the current 6-digit code from the app")
    now = utcnow()
    won = (
        await User.update({User.mfa_enabled_at: now, User.totp_last_step: step})
        .where((User.id == user_id) & User.mfa_enabled_at.is_null() & (User.totp_secret == user["totp_secret"]))
        .returning(User.id)
    )
    if not won:
        raise Conflict("The enrolment changed meanwhile: start it again.")
    codes = totp.new_recovery_codes()
    await RecoveryCode.delete().where(RecoveryCode.user == user_id)
    await RecoveryCode.insert(
        *(RecoveryCode(id=uuid.uuid4(), user=user_id, code_hash=totp.recovery_digest(c), created_at=now) for c in codes)
    )
    await _forget_sessions(session_check, user_id)
    await _record(user, "mfa.totp.confirm", "success", scope)
    return codes


async def _check_code(settings: Settings, user: dict[str, Any], code: str) -> tuple[str, Any] | None:
    """Which unused code this is, without spending it: ("totp", step) or ("recovery", row id)."""
    normalized = totp.normalize(code)
    if totp.is_totp_code(normalized):
        secret = totp.unseal(settings.secret_key, str(user["id"]), user["totp_secret"])
        step = totp.matching_step(secret, normalized) if secret else None
        last = user["totp_last_step"]
        if step is not None and (last is None or step > last):
            return "totp", step
        return None
    row = (
        await RecoveryCode.select(RecoveryCode.id)
        .where(
            (RecoveryCode.user == user["id"])
            & (RecoveryCode.code_hash == totp.recovery_digest(normalized))
            & RecoveryCode.used_at.is_null()
        )
        .first()
    )
    return ("recovery", row["id"]) if row else None


async def _spend_code(user: dict[str, Any], kind: str, ref: Any) -> bool:
    if kind == "totp":
        last = User.totp_last_step
        won = (
            await User.update({User.totp_last_step: ref})
            .where((User.id == user["id"]) & (last.is_null() | (last < ref)))
            .returning(User.id)
        )
    else:
        won = (
            await RecoveryCode.update({RecoveryCode.used_at: utcnow()})
            .where((RecoveryCode.id == ref) & RecoveryCode.used_at.is_null())
            .returning(RecoveryCode.id)
        )
    return bool(won)


async def disable_factor(
    settings: Settings, session_check: SessionCheck, user_id: str, password: str, code: str, scope: Mapping[str, Any]
) -> None:
    """Turn the factor off; needs the password and a current code (or an unused recovery code)."""
    user = await _user(user_id)
    if user["mfa_enabled_at"] is None:
        raise Conflict("No second factor is active.", code="invalid_state")
    if not await verify_password(user["password_hash"], password):
        await _record(user, "mfa.totp.disable", "denied", scope)
        raise invalid("password", "wrong password")
    found = await _check_code(settings, user, code)
    if found is None or not await _spend_code(user, *found):
        await _record(user, "mfa.code.fail", "denied", scope)
        raise invalid("code", "that code does not match (or was already used)")
    if found[0] == "recovery":
        await _record(user, "mfa.recovery_code.use", "success", scope)
    await User.update({User.totp_secret: "", User.mfa_enabled_at: None, User.totp_last_step: None}).where(
        User.id == user_id
    )
    await RecoveryCode.delete().where(RecoveryCode.user == user_id)
    await MfaChallenge.delete().where(MfaChallenge.user == user_id)
    await _forget_sessions(session_check, user_id)
    await _record(user, "mfa.totp.disable", "success", scope)


async def open_challenge(user_id: str) -> str:
    """After a right password: an ``mfa_token`` (stored only as its digest), good for 5 minutes."""
    now = utcnow()
    await MfaChallenge.delete().where((MfaChallenge.user == user_id) & (MfaChallenge.created_at < now - ACCOUNT_WINDOW))
    recent = await MfaChallenge.select(MfaChallenge.failures, MfaChallenge.created_at).where(
        MfaChallenge.user == user_id
    )
    if sum(r["failures"] for r in recent) >= ACCOUNT_FAILURES:
        oldest = min(r["created_at"] for r in recent if r["failures"])
        wait = max(1, int((oldest + ACCOUNT_WINDOW - now).total_seconds()) + 1)
        raise RateLimited("Too many wrong codes for this account; wait and try again.", retry_after=wait)
    token = new_opaque_token()
    await MfaChallenge(
        id=uuid.uuid4(),
        user=user_id,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=now + dt.timedelta(minutes=CHALLENGE_MINUTES),
    ).save()
    return token


_SPENT = "This sign-in step has expired or was already used: sign in with your password again."


async def challenge_subject(mfa_token: str) -> str | None:
    """Whom a live ``mfa_token`` would sign in (the throttle's subject); None when it is spent or unknown."""
    row = (
        await MfaChallenge.select(MfaChallenge.user)
        .where(
            (MfaChallenge.token_hash == token_digest(mfa_token))
            & MfaChallenge.used_at.is_null()
            & (MfaChallenge.expires_at > utcnow())
            & (MfaChallenge.failures < CHALLENGE_TRIES)
        )
        .first()
    )
    return str(row["user"]) if row else None


async def complete_challenge(settings: Settings, mfa_token: str, code: str, scope: Mapping[str, Any]) -> dict[str, Any]:
    """Spend the challenge with a right code; returns the user row to open a session for."""
    challenge = await MfaChallenge.select().where(MfaChallenge.token_hash == token_digest(mfa_token)).first()
    now = utcnow()
    if (
        challenge is None
        or challenge["used_at"] is not None
        or challenge["expires_at"] <= now
        or challenge["failures"] >= CHALLENGE_TRIES
    ):
        raise Unauthenticated(_SPENT, code="invalid_token")
    user = await _user(str(challenge["user"]))
    if user["disabled_at"] is not None:
        raise Forbidden("This account has been disabled.")
    found = await _check_code(settings, user, code) if user["mfa_enabled_at"] is not None else None
    if found is None:
        failed = (
            await MfaChallenge.update({MfaChallenge.failures: MfaChallenge.failures + 1})
            .where((MfaChallenge.id == challenge["id"]) & MfaChallenge.used_at.is_null())
            .returning(MfaChallenge.failures)
        )
        await _record(user, "mfa.code.fail", "denied", scope)
        left = max(0, CHALLENGE_TRIES - (failed[0]["failures"] if failed else CHALLENGE_TRIES))
        if left == 0:
            await MfaChallenge.update({MfaChallenge.used_at: now}).where(MfaChallenge.id == challenge["id"])
        raise Unauthenticated(
            "That code is not right (or was already used)." + ("" if left else " Sign in with your password again."),
            code="invalid_code",
            extra={"attempts_left": left},
        )
    claimed = (
        await MfaChallenge.update({MfaChallenge.used_at: now})
        .where(
            (MfaChallenge.id == challenge["id"])
            & MfaChallenge.used_at.is_null()
            & (MfaChallenge.failures < CHALLENGE_TRIES)
        )
        .returning(MfaChallenge.id)
    )
    if not claimed:
        raise Unauthenticated(_SPENT, code="invalid_token")
    if not await _spend_code(user, *found):
        await _record(user, "mfa.code.fail", "denied", scope)
        raise Unauthenticated("That code was just used. Sign in with your password again.", code="invalid_code")
    if found[0] == "recovery":
        await _record(user, "mfa.recovery_code.use", "success", scope)
    await _record(user, "mfa.login", "success", scope)
    return user


async def recovery_codes_left(user_id: str) -> int:
    left = await RecoveryCode.count().where((RecoveryCode.user == user_id) & RecoveryCode.used_at.is_null())
    return int(left)


class MfaService:
    """The signed-in person's second factor (``/users/me/mfa``).

    Every code is counted by the ``mfa`` throttle before it is checked (per account and
    address), and a right one gives its attempt back.
    """

    def __init__(self, settings: Settings, session_check: SessionCheck, throttles: Throttles) -> None:
        self.settings = settings
        self.session_check = session_check
        self.throttles = throttles

    async def status(self, principal: Principal) -> MfaStatusOut:
        row = await User.select(User.mfa_enabled_at).where(User.id == principal.id).first()
        enabled = row is not None and row["mfa_enabled_at"] is not None
        return MfaStatusOut(
            enabled=enabled,
            required=principal.role in self.settings.mfa_required_roles,
            recovery_codes_left=await recovery_codes_left(principal.id) if enabled else 0,
        )

    async def enrol(self, principal: Principal, scope: Mapping[str, Any]) -> TotpEnrolmentOut:
        secret, uri = await start_enrolment(self.settings, principal.id, scope)
        return TotpEnrolmentOut(secret=secret, otpauth_uri=uri)

    async def confirm(self, principal: Principal, code: str, scope: Mapping[str, Any]) -> RecoveryCodesOut:
        ip = audit.client_ip(scope)
        await self.throttles.check("mfa", principal.id, ip)
        codes = await confirm_enrolment(self.settings, self.session_check, principal.id, code, scope)
        await self.throttles.succeeded("mfa", principal.id, ip)
        return RecoveryCodesOut(recovery_codes=codes)

    async def disable(self, principal: Principal, password: str, code: str, scope: Mapping[str, Any]) -> None:
        ip = audit.client_ip(scope)
        await self.throttles.check("mfa", principal.id, ip)
        await disable_factor(self.settings, self.session_check, principal.id, password, code, scope)
        await self.throttles.succeeded("mfa", principal.id, ip)
