"""Password hashing (argon2), access tokens (JWT with an algorithm allowlist) and opaque tokens."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from careconnect.settings import Settings

_hasher = PasswordHasher()
# Verifying against this when the email is unknown makes both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-same-cost")


# Argon2 takes 50-200 ms of CPU and 64 MiB per hash, and argon2-cffi lets go of the GIL while it
# works: the server hashes on these threads, never on the event loop, where one sign-in would
# stall every socket of the worker for that long. The pool's size bounds the memory a storm of
# sign-ins can take (queued requests wait their turn; the throttles refuse the storm itself).
_HASHING = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="careconnect-argon2")


def _hash(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    """An unknown user (``password_hash`` None or empty) costs what a wrong password does, and fails."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, _hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, _verify, password_hash, password)


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Refresh tokens and the like are stored as their SHA-256, never as themselves."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccessClaims(msgspec.Struct, frozen=True):
    sub: str
    role: str
    sid: str
    iat: int
    exp: int
    iss: str
    aud: str
    typ: str
    name: str = ""


class InvalidToken(Exception):
    """The token is malformed, forged, expired or of the wrong kind."""


def issue_access_token(
    settings: Settings, *, user_id: str, role: str, session_id: str, name: str = "", now: float | None = None
) -> tuple[str, int]:
    issued = int(now if now is not None else time.time())
    lifetime = settings.access_token_minutes * 60
    claims = {
        "sub": user_id,
        "role": role,
        "sid": session_id,
        "iat": issued,
        "exp": issued + lifetime,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "typ": "access",
        "name": name,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, _signing_key(settings), algorithm=settings.jwt_algorithm), lifetime


def _signing_key(settings: Settings) -> str:
    return settings.secret_key if settings.jwt_algorithm == "HS256" else settings.jwt_private_key


def _verifying_key(settings: Settings) -> str:
    return settings.secret_key if settings.jwt_algorithm == "HS256" else settings.jwt_public_key


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify signature, algorithm (only the configured one), expiry, issuer, audience and type."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != settings.jwt_algorithm:
            raise InvalidToken("unexpected algorithm")
        payload: dict[str, Any] = jwt.decode(
            token,
            _verifying_key(settings),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "role", "sid", "iat", "exp", "iss", "aud", "typ"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    if payload.get("typ") != "access":
        raise InvalidToken("not an access token")
    try:
        return msgspec.convert(payload, AccessClaims)
    except msgspec.ValidationError as exc:
        raise InvalidToken(str(exc)) from None
