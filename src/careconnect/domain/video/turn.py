"""TURN REST credentials, as coturn's ``use-auth-secret`` checks them.

The username is ``<expiry unix time>:<user id>`` and the credential is
base64(HMAC-SHA1(static-auth-secret, username)): coturn recomputes it and refuses it after the
expiry, so a browser only ever holds a password that stops working, never the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def turn_credential(secret: str, user_id: str, ttl_s: int, now: float) -> tuple[str, str]:
    """``(username, credential)`` valid until ``now + ttl_s``."""
    username = f"{int(now) + ttl_s}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
