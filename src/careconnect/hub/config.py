"""The hub's settings (limits and timings) and its counters."""

from __future__ import annotations

import bisect

import msgspec


class HubSettings(msgspec.Struct, kw_only=True, frozen=True):
    """Limits and timings; the defaults are PROTOCOL.md's."""

    heartbeat_s: int = 25
    hello_timeout_s: float = 10.0
    max_frame_bytes: int = 65_536
    send_limit: int = 20
    send_window_s: float = 10.0
    # Sends per user per ``send_window_s`` summed over their connections (every worker with a
    # shared ``SendLimiter``); never below ``send_limit``, so one socket keeps its whole limit.
    user_send_limit: int = 60
    limited_close_after: int = 5
    queue_size: int = 1000
    max_rooms: int = 100
    replay_default: int = 50
    replay_page: int = 500
    max_body_chars: int = 4000
    revalidate_s: float = 30.0
    maintenance_s: float = 5.0
    presence_sweep_s: float = 5.0
    # Video call signalling (PROTOCOL.md 1.1): its own limit per user on each worker, and a size cap.
    signal_limit: int = 200
    signal_window_s: float = 10.0
    signal_max_bytes: int = 65_536


class HubStats(msgspec.Struct, kw_only=True):
    """Counters the application exports (Prometheus); ``Hub.counts()`` has the gauges."""

    messages_stored: int = 0
    messages_duplicate: int = 0
    deliveries: int = 0
    queue_drops: int = 0  # sockets closed with 4429 because their queue overflowed
    signals_dropped: int = 0  # typing / read frames not queued to a full socket
    gap_fills: int = 0
    broker_failures: int = 0
    connections_total: int = 0
    user_limited: int = 0  # sends refused by the per-user limit
    user_limit_failures: int = 0  # sends let through because the per-user counter was unreachable
    origins_refused: int = 0  # handshakes refused (403) for their Origin
    closes: dict[int, int] = msgspec.field(default_factory=dict)  # sockets the hub closed, by close code
    call_signals: int = 0  # video call signals relayed to their member


# Seconds: fine below 2 ms, where a commit and a healthy event loop live.
LATENCY_BUCKETS = (
    0.0001, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003,
    0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip


class Histogram:
    """Counts of observed durations (seconds) by upper bound, as Prometheus histograms keep them."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last: above every bound
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.count += 1
        self.sum += seconds

    def add(self, other: Histogram) -> None:
        """Count ``other``'s observations here too (same bounds)."""
        for i, n in enumerate(other.counts):
            self.counts[i] += n
        self.count += other.count
        self.sum += other.sum

    def cumulative(self) -> list[tuple[str, int]]:
        """``(upper bound, observations at or below it)`` pairs, ending with ``+Inf``."""
        pairs, running = [], 0
        for bound, n in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            running += n
            pairs.append((bound, running))
        return pairs
