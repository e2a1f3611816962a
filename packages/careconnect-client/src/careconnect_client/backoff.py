"""Reconnect delays: exponential with full jitter and a cap (AWS's "full jitter")."""

from __future__ import annotations

import random

__all__ = ("Backoff",)


class Backoff:
    """``next()`` is uniform in ``[0, min(cap, base * 2**attempt)]``; ``reset()`` after a success.

    Full jitter spreads a crowd of clients that lost the same server over the whole window,
    so a restart is not met by all of them at once.
    """

    def __init__(self, base: float = 0.2, cap: float = 10.0, *, rng: random.Random | None = None) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        return min(self.cap, self.base * float(2**self.attempt))

    def next(self) -> float:
        delay = self._rng.uniform(0, self.ceiling())
        self.attempt = min(self.attempt + 1, 30)
        return delay

    def reset(self) -> None:
        self.attempt = 0
