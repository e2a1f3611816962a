"""TOTP (RFC 6238) arithmetic, the sealing of secrets at rest, and recovery codes.

Secrets are sealed with AES-256-GCM under a key derived from ``SECRET_KEY`` (HKDF-SHA256, its own
``info`` label), with the user id as associated data, so a copied row does not open for another
user and a database dump alone does not reveal any secret. Recovery codes are random (50 bits)
and stored as SHA-256 digests, like refresh tokens.
"""

from __future__ import annotations

import base64
import os
import secrets
import time

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from careconnect.security import token_digest

ISSUER = "CareConnect"
STEP_S = 30
WINDOW = 1  # one step either side: a code from the previous or next 30 s also counts
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_SEALED_PREFIX = "v1:"


def _key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"careconnect totp secret v1")
    return hkdf.derive(secret_key.encode())


def seal(secret_key: str, user_id: str, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, secret.encode(), user_id.encode())
    return _SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret_key: str, user_id: str, stored: str) -> str | None:
    """The secret, or None when there is none or it was sealed under another SECRET_KEY."""
    if not stored.startswith(_SEALED_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(stored.removeprefix(_SEALED_PREFIX))
        return AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], user_id.encode()).decode()
    except (InvalidTag, ValueError):
        return None


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits, as RFC 4226 recommends


def otpauth_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def normalize(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def is_totp_code(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose code ``code`` is (within the window), or None."""
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_S)
    at = time.time() if now is None else now
    current = int(at // STEP_S)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if secrets.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_digest(code: str) -> str:
    return token_digest(normalize(code))
