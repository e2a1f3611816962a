"""Tokens a mail carries in its link (password reset, email verification) are sealed in the
outbox with AES-256-GCM under a key derived from ``SECRET_KEY``, so a copy of the database does
not hold them in clear (API.md: reset tokens are stored only hashed). The job's dedupe key is
the associated data: a sealed token moved to another job does not open."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"careconnect outbox secret v1")
        self._aead = AESGCM(hkdf.derive(secret_key.encode()))

    def seal(self, value: str, context: str) -> str:
        nonce = os.urandom(12)
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, value.encode(), context.encode())).decode()

    def open(self, sealed: str, context: str) -> str | None:
        """The value, or None when it was sealed under another key or context, or is damaged."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError):
            return None
