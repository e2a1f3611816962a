"""The client's token keeper and backoff, on their own: when a token is renewed, how often the
provider is asked, what is read from a JWT, and the full-jitter window."""

from __future__ import annotations

import asyncio
import base64
import json
import random

import pytest

from careconnect_client import AuthError, Backoff
from careconnect_client.tokens import TokenKeeper, token_times


def jwt(**claims: float) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJIUzI1NiJ9.{body}.c2lnbmF0dXJl"


def test_exp_and_iat_are_read_unverified_and_opaque_tokens_have_none() -> None:
    assert token_times(jwt(iat=100, exp=160)) == (100.0, 160.0)
    assert token_times("opaque-token") == (None, None)
    assert token_times("a.!!!.c") == (None, None)
    assert token_times(jwt(exp="soon")) == (None, None)  # type: ignore[arg-type]


async def test_refresh_is_a_minute_early_or_at_half_life_for_short_tokens() -> None:
    now = [1000.0]
    tokens = iter([jwt(iat=1000, exp=1060), jwt(iat=1000, exp=1900)])

    async def provider() -> str:
        return next(tokens)

    keeper = TokenKeeper(provider, clock=lambda: now[0])
    await keeper.get()
    assert keeper.refresh_at() == 1030  # a 1-minute token: at half-life
    await keeper.renew(keeper.current)
    assert keeper.refresh_at() == 1840  # a 15-minute token: a minute before exp


async def test_a_valid_token_is_reused_and_one_call_serves_every_asker() -> None:
    now = [1000.0]
    calls = []
    release = asyncio.Event()

    async def provider() -> str:
        calls.append(now[0])
        await release.wait()
        return jwt(iat=now[0], exp=now[0] + 60)

    keeper = TokenKeeper(provider, clock=lambda: now[0])
    first = asyncio.gather(*(keeper.get() for _ in range(5)))
    await asyncio.sleep(0)
    release.set()
    assert len(set(await first)) == 1 and len(calls) == 1
    assert await keeper.get() == keeper.current and len(calls) == 1  # still valid: reused
    stale = keeper.current
    now[0] += 45
    renewed = await asyncio.gather(*(keeper.renew(stale) for _ in range(3)))
    assert len(set(renewed)) == 1 and renewed[0] != stale and len(calls) == 2
    assert await keeper.renew(stale) == renewed[0] and len(calls) == 2  # that stale one is done
    now[0] += 59  # within 2 s of exp: a reconnect asks for a new one
    await keeper.get()
    assert len(calls) == 3 and keeper.calls == 3


async def test_a_failing_provider_raises_to_every_asker_and_is_asked_again_later() -> None:
    answers: list[object] = [AuthError("bad credentials"), jwt(exp=9e9)]

    async def provider() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    keeper = TokenKeeper(provider)
    with pytest.raises(AuthError):
        await keeper.get()
    assert await keeper.get() and keeper.calls == 1


def test_a_fixed_token_is_never_renewed() -> None:
    keeper = TokenKeeper(jwt(iat=0, exp=60))
    assert not keeper.renewable and keeper.refresh_at() is None


def test_full_jitter_stays_in_its_growing_window_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 4.0, rng=random.Random(7))
    ceilings = []
    for _ in range(8):
        ceilings.append(backoff.ceiling())
        assert 0 <= backoff.next() <= ceilings[-1]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    draws = [Backoff(1.0, 1.0, rng=random.Random(seed)).next() for seed in range(200)]
    assert min(draws) < 0.1 and max(draws) > 0.9  # spread over the whole window, not bunched
    backoff.reset()
    assert backoff.ceiling() == 0.5
    with pytest.raises(ValueError):
        Backoff(0, 1)
