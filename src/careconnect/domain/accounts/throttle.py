"""Throttles for guessable secrets (passwords, MFA codes) and for mail-sending requests.

Every attempt is counted *before* the secret is checked, with an atomic increment (the
``limits`` library's storage: Redis ``INCRBY`` + ``EXPIRE`` in one script, shared by every
worker, or memory for one process), so concurrent guesses cannot all slip past a check that
read the counter before any of them wrote it. A success gives its attempt back.

The rule (docs/security.md "Throttles" says why): attempts are counted per (subject, address)
pair, per subject (an account or an email) from every address, and per address for every
subject.

- A pair over ``per_pair`` is refused: whoever guesses from one address is stopped there.
- A subject over ``per_subject`` is *under attack*: each address then gets only
  ``per_pair_under_attack`` attempts at it. An address that has made no attempt at the subject
  in the window is never refused because of the subject's count, so a stranger cannot lock a
  doctor out of their own account.
- An address over ``per_address`` is refused for every subject; the limit is high, so a clinic
  behind one NAT address is not refused because some of its users mistype.
- ``subject_refuses`` (the password-reset request) refuses a subject over ``per_subject``
  outright: there is nothing to guess, only mails to send.

Call sites::

    await throttles.check("login", email, ip)      # raises Throttled (429 + Retry-After)
    if not password_ok:
        await throttles.failed("login", email, ip)  # the attempt stays counted
        raise ...
    await throttles.succeeded("login", email, ip)  # gives the attempt back, clears the pair
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

import msgspec

from careconnect.domain.errors import RateLimited

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from limits.aio.storage import Storage

log = logging.getLogger("careconnect.throttle")


class Policy(msgspec.Struct, kw_only=True, frozen=True):
    """The limits of one kind of attempt, all counted in fixed windows of ``window_s`` seconds."""

    window_s: int
    per_pair: int | None = None
    per_pair_under_attack: int | None = None
    per_subject: int | None = None
    per_address: int | None = None
    subject_refuses: bool = False


class Throttled(RateLimited):
    """Too many attempts: ``rate_limited`` (429) with ``Retry-After`` (seconds)."""

    def __init__(self, retry_after: int, detail: str) -> None:
        super().__init__(detail, retry_after=retry_after)


_DETAIL = {
    "login": "Too many sign-in attempts; wait and try again.",
    "password_change": "Too many wrong current passwords; wait and try again.",
    "mfa": "Too many wrong codes; wait and try again.",
    "reset_request": "Too many reset requests; wait and try again.",
    "verify_request": "Too many verification mails asked for; wait and try again.",
}


def default_policies(
    *,
    window_s: int = 900,
    per_pair: int = 5,
    per_pair_under_attack: int = 2,
    per_account: int = 20,
    per_address: int = 100,
) -> dict[str, Policy]:
    """The named policies; login's numbers come from the settings (README "Configuration")."""
    login = Policy(
        window_s=window_s,
        per_pair=per_pair,
        per_pair_under_attack=per_pair_under_attack,
        per_subject=per_account,
        per_address=per_address,
    )
    return {
        "login": login,
        # A signed-in session guessing its own current password: the same shape as login.
        "password_change": login,
        # Six digits: fewer guesses per pair, the same protection of the innocent.
        "mfa": Policy(
            window_s=window_s,
            per_pair=5,
            per_pair_under_attack=2,
            per_subject=10,
            per_address=per_address,
        ),
        # API.md: "rate limited per email and per IP". Each request counts (no success).
        "reset_request": Policy(window_s=3600, per_subject=3, per_address=20, subject_refuses=True),
        # issue 17: a signed-in user asking for verification mails (the subject is the account).
        "verify_request": Policy(window_s=3600, per_subject=5, per_address=20, subject_refuses=True),
    }


class Throttles:
    """Named throttling policies over one atomic counter store (``limits`` storage).

    Guarantee: for each policy, no more than ``per_pair`` attempts of one (subject, address)
    pair reach the secret check in a window, however many arrive at once, on every worker
    sharing the store; an address with no attempt at a subject in the window is refused only
    by the address limit.
    """

    def __init__(self, storage: Storage, policies: dict[str, Policy], *, prefix: str = "throttle") -> None:
        self.storage = storage
        self.policies = policies
        self.prefix = prefix

    def _keys(self, kind: str, subject: str, address: str) -> tuple[str, str, str]:
        subject = subject.strip().lower()
        return (
            f"{self.prefix}:{kind}:pair:{subject}|{address}",
            f"{self.prefix}:{kind}:subject:{subject}",
            f"{self.prefix}:{kind}:address:{address}",
        )

    def _policy(self, kind: str) -> Policy:
        try:
            return self.policies[kind]
        except KeyError:
            raise ValueError(f"no throttle policy named {kind!r} (have: {', '.join(self.policies)})") from None

    async def _retry_after(self, key: str, window_s: int) -> int:
        expires = await self.storage.get_expiry(key)
        return max(1, min(window_s, math.ceil(expires - time.time())))

    async def check(self, kind: str, subject: str, address: str) -> None:
        """Count one attempt of ``kind`` by ``subject`` from ``address``; raise ``Throttled`` over a limit.

        Args:
            kind: a policy name: ``login``, ``password_change``, ``mfa`` or ``reset_request``.
            subject: the account (email or user id) or the email a reset is asked for.
            address: the client's address as ``domain.audit.service.client_ip`` gives it.
        """
        policy = self._policy(kind)
        pair_key, subject_key, address_key = self._keys(kind, subject, address)
        window = policy.window_s
        refused: str | None = None
        counted: list[str] = []
        if policy.per_pair is not None:
            counted.append(pair_key)
            pair = await self.storage.incr(pair_key, window)
            if pair > policy.per_pair:
                # The pair stays counted: hammering a refused pair changes nothing else.
                log.info("throttled %s (pair)", kind)
                raise Throttled(await self._retry_after(pair_key, window), _DETAIL[kind])
        else:
            pair = 0
        if policy.per_address is not None:
            counted.append(address_key)
            if await self.storage.incr(address_key, window) > policy.per_address:
                refused = address_key
        if refused is None and policy.per_subject is not None:
            counted.append(subject_key)
            over = await self.storage.incr(subject_key, window) > policy.per_subject
            if over and policy.subject_refuses:
                refused = subject_key
            elif over and policy.per_pair_under_attack is not None and pair > policy.per_pair_under_attack:
                refused = pair_key
        if refused is not None:
            wait = await self._retry_after(refused, window)
            # Refused attempts never reached the secret: they count nowhere (a refused address
            # does not use up its pairs' attempts, nor a refused pair the account's).
            for key in counted:
                await self.storage.incr(key, window, amount=-1)
            log.info("throttled %s (%s)", kind, "address" if refused == address_key else "account")
            raise Throttled(wait, _DETAIL[kind])

    async def failed(self, kind: str, subject: str, address: str) -> None:
        """The attempt ``check`` counted was a failure: it stays counted (kept for the call site's sake)."""
        self._policy(kind)
        log.debug("failed %s attempt from %s", kind, address)

    async def succeeded(self, kind: str, subject: str, address: str) -> None:
        """The attempt was right: give it back and forget this pair's failures."""
        policy = self._policy(kind)
        pair_key, subject_key, address_key = self._keys(kind, subject, address)
        if policy.per_pair is not None:
            await self.storage.clear(pair_key)
        if policy.per_subject is not None:
            await self.storage.incr(subject_key, policy.window_s, amount=-1)
        if policy.per_address is not None:
            await self.storage.incr(address_key, policy.window_s, amount=-1)


async def _nothing_to_close() -> None:
    return None


def throttle_storage(redis_url: str | None, *, cluster: bool = False) -> tuple[Storage, Callable[[], Awaitable[None]]]:
    """Redis (shared by every worker and host) when the server has ``REDIS_URL``, else memory;
    ``cluster``: a Redis Cluster (``REDIS_CLUSTER``), each counter one key on its own slot.

    Returns the storage and the coroutine function that closes its connections at shutdown.
    """
    if redis_url and cluster:
        from limits.aio.storage import RedisClusterStorage

        rest = redis_url.split("://", 1)[1].split("/", 1)[0]
        cluster_storage = RedisClusterStorage(
            f"async+redis+cluster://{rest}", implementation="redispy", socket_timeout=2.0, socket_connect_timeout=2.0
        )

        async def close() -> None:
            # limits keeps its redis-py RedisCluster on the storage's bridge and offers no close.
            bridge: Any = cluster_storage.bridge  # typed without it
            await bridge.storage.aclose()

        return cluster_storage, close
    if redis_url:
        from limits.aio.storage import RedisStorage
        from redis.asyncio import ConnectionPool

        # A Redis outage answers 503 (db_errors.is_unavailable) within seconds, never hangs a sign-in.
        pool = ConnectionPool.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        scheme, rest = redis_url.split("://", 1)
        scheme = "redis+unix" if scheme == "unix" else scheme
        storage = RedisStorage(
            f"async+{scheme}://{rest}",
            implementation="redispy",
            connection_pool=pool,  # type: ignore[arg-type]  # limits types its options as scalars
        )
        return storage, pool.disconnect
    from limits.aio.storage import MemoryStorage

    return MemoryStorage(), _nothing_to_close
