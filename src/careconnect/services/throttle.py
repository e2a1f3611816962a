"""Login failure throttling per account and per IP, kept in a Litestar store (memory or Redis)."""

from __future__ import annotations

from litestar.stores.base import Store


class LoginThrottle:
    """Counts failed logins in a fixed window; past the limit, logins answer 429."""

    def __init__(self, store: Store, *, per_account: int, per_ip: int, window_s: int) -> None:
        self.store = store
        self.per_account = per_account
        self.per_ip = per_ip
        self.window_s = window_s

    def _keys(self, email: str, ip: str) -> tuple[tuple[str, int], tuple[str, int]]:
        return (f"login-fail:acct:{email.lower()}", self.per_account), (f"login-fail:ip:{ip}", self.per_ip)

    async def retry_after(self, email: str, ip: str) -> int | None:
        """Seconds to wait when either counter is over its limit, else None."""
        for key, limit in self._keys(email, ip):
            raw = await self.store.get(key)
            if raw is not None and int(raw) >= limit:
                return max(1, await self.store.expires_in(key) or self.window_s)
        return None

    async def failed(self, email: str, ip: str) -> None:
        for key, _ in self._keys(email, ip):
            raw = await self.store.get(key)
            if raw is None:
                await self.store.set(key, b"1", expires_in=self.window_s)
            else:
                ttl = await self.store.expires_in(key) or self.window_s
                await self.store.set(key, str(int(raw) + 1).encode(), expires_in=max(1, ttl))

    async def succeeded(self, email: str) -> None:
        await self.store.delete(f"login-fail:acct:{email.lower()}")
