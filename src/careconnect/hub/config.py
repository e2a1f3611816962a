"""The hub's settings (limits and timings) and its counters."""

from __future__ import annotations

import msgspec


class HubSettings(msgspec.Struct, kw_only=True, frozen=True):
    """Limits and timings; the defaults are PROTOCOL.md's."""

    heartbeat_s: int = 25
    hello_timeout_s: float = 10.0
    max_frame_bytes: int = 65_536
    send_limit: int = 20
    send_window_s: float = 10.0
    limited_close_after: int = 5
    queue_size: int = 1000
    max_rooms: int = 100
    replay_default: int = 50
    replay_page: int = 500
    max_body_chars: int = 4000
    revalidate_s: float = 30.0
    maintenance_s: float = 5.0
    presence_sweep_s: float = 5.0


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
