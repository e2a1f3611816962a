"""The named throttle policies other routes call (MFA codes, reset requests), on memory and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from careconnect.domain.accounts.throttle import Throttled, Throttles, default_policies, throttle_storage
from careconnect.errors import status_of
from tests.infra import REDIS_URL, need_redis


@pytest.fixture(params=["memory", "redis"])
async def throttles(request: pytest.FixtureRequest) -> AsyncIterator[Throttles]:
    url = None
    if request.param == "redis":
        need_redis()
        url = REDIS_URL
    storage, close = throttle_storage(url)
    try:
        yield Throttles(storage, default_policies(), prefix=f"test-{uuid.uuid4().hex[:8]}")
    finally:
        await close()


async def test_reset_requests_are_limited_per_email_and_per_address(throttles):
    """API.md: 202 either way, "rate limited per email and per IP": 3 per email, 20 per address, per hour."""
    for _ in range(3):
        await throttles.check("reset_request", "Victim@Example.com", "10.0.0.1")
    with pytest.raises(Throttled) as refused:
        await throttles.check("reset_request", "victim@example.com", "10.0.0.2")  # any address, same email
    assert 0 < refused.value.retry_after <= 3600 and status_of(refused.value) == 429
    assert refused.value.code == "rate_limited"
    assert refused.value.headers == {"Retry-After": str(refused.value.retry_after)}
    for i in range(17):  # 3 + 17 = 20 from the first address
        await throttles.check("reset_request", f"other{i}@example.com", "10.0.0.1")
    with pytest.raises(Throttled):
        await throttles.check("reset_request", "fresh@example.com", "10.0.0.1")


async def test_mfa_codes_are_counted_atomically_per_user_and_address(throttles):
    results = await asyncio.gather(
        *(throttles.check("mfa", "user-1", "10.0.0.9") for _ in range(12)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 5
    assert all(isinstance(r, Throttled) for r in results if r is not None)
    await throttles.check("mfa", "user-1", "10.0.0.10")  # another address still gets its attempts


async def test_a_success_gives_the_attempt_back(throttles):
    for _ in range(4):
        await throttles.check("login", "a@example.com", "10.0.0.3")
        await throttles.failed("login", "a@example.com", "10.0.0.3")
    await throttles.check("login", "a@example.com", "10.0.0.3")
    await throttles.succeeded("login", "a@example.com", "10.0.0.3")
    for _ in range(5):
        await throttles.check("login", "a@example.com", "10.0.0.3")


async def test_an_unknown_policy_is_a_programming_error(throttles):
    with pytest.raises(ValueError, match="no throttle policy named 'sms'"):
        await throttles.check("sms", "a", "b")
