"""Access tokens from a provider, asked for once per expiry.

The provider is an async callable returning a token (a bot's: ``POST /auth/token`` with its
client credentials). ``TokenKeeper`` holds the current token and reads its ``exp`` (and
``iat``) from the JWT payload, base64 only, without verifying: the server verifies; the client
only needs to know when to ask again. Guarantees:

- a still-valid token is reused (a reconnect after a restart asks the provider for nothing);
- the provider is called at most once per token: ``renew(stale)`` for the same stale token
  shares one call, whoever asks (the refresh timer, a 4401, a reconnect);
- ``refresh_at()`` is about a minute before ``exp``, or at half-life for tokens shorter than
  two minutes.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from typing import Union

import msgspec

__all__ = ("TokenKeeper", "TokenProvider", "token_times")

TokenProvider = Union[str, Callable[[], Awaitable[str]]]
REFRESH_LEAD_S = 60.0
_claims = msgspec.json.Decoder(dict[str, object])


def token_times(token: str) -> tuple[float | None, float | None]:
    """``(iat, exp)`` of a JWT, unverified; ``(None, None)`` for an opaque or malformed token."""
    parts = token.split(".")
    if len(parts) != 3:
        return None, None
    try:
        claims = _claims.decode(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, msgspec.DecodeError):
        return None, None
    iat, exp = claims.get("iat"), claims.get("exp")
    return (
        float(iat) if isinstance(iat, int | float) else None,
        float(exp) if isinstance(exp, int | float) else None,
    )


class TokenKeeper:
    def __init__(self, provider: TokenProvider, *, clock: Callable[[], float] = time.time) -> None:
        self._provider = provider
        self._clock = clock
        self._token: str | None = provider if isinstance(provider, str) else None
        self._obtained = clock()
        self._iat: float | None = None
        self._exp: float | None = None
        self._pending: asyncio.Future[str] | None = None
        self.calls = 0  # how many times the provider was asked (and answered)
        if self._token is not None:
            self._iat, self._exp = token_times(self._token)

    @property
    def renewable(self) -> bool:
        """A provider to call (a fixed token string is not renewable)."""
        return not isinstance(self._provider, str)

    @property
    def current(self) -> str | None:
        return self._token

    @property
    def expires_at(self) -> float | None:
        return self._exp

    def refresh_at(self) -> float | None:
        """When to ask for the next token: a minute before ``exp``, or at half-life if shorter."""
        if self._exp is None or not self.renewable:
            return None
        issued = self._iat if self._iat is not None else self._obtained
        lead = min(REFRESH_LEAD_S, max(0.0, (self._exp - issued) / 2))
        return self._exp - lead

    def valid(self, margin: float = 2.0) -> bool:
        """The current token is there and will not expire within ``margin`` seconds."""
        if self._token is None:
            return False
        return self._exp is None or self._clock() + margin < self._exp

    def use(self, token: str) -> str:
        """Adopt a token obtained elsewhere (``HubClient.refresh(token)``)."""
        self._token = token
        self._obtained = self._clock()
        self._iat, self._exp = token_times(token)
        return token

    async def get(self) -> str:
        """A token to say ``hello`` with: the current one while it is valid, else a new one."""
        if self.valid() or (self._token is not None and not self.renewable):
            assert self._token is not None
            return self._token
        return await self.renew(self._token)

    async def renew(self, stale: str | None) -> str:
        """A token other than ``stale``; one provider call however many ask for the same ``stale``."""
        if self._token is not None and self._token != stale:
            return self._token
        if isinstance(self._provider, str):
            return self._provider
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_future()
            pending = self._pending
            try:
                token = await self._provider()
            except BaseException as exc:
                self._pending = None
                pending.set_exception(exc)
                pending.exception()  # retrieved: the caller that asked raises it below
                raise
            self.calls += 1
            self.use(token)
            self._pending = None
            pending.set_result(token)
            return token
        return await asyncio.shield(self._pending)
