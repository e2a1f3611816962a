"""Prometheus metrics beyond the per-request ones: the hub's sockets, rooms, messages, drops.

``HubMetrics(hub)`` is one app's collector: the app registers it with the process's registry
when it starts and takes it out when it stops (``register`` / ``unregister``), so nothing here
outlives the app that made it. Each worker process runs one app, so one hub per registry; tests
that run several apps at once see one family per live app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from careconnect.hub.config import Histogram

if TYPE_CHECKING:
    from careconnect.hub import Hub

_GAUGES = {
    "careconnect_hub_open_sockets": ("Open hub WebSockets on this worker", "connections"),
    "careconnect_hub_rooms": ("Rooms with members on this worker", "rooms"),
    "careconnect_hub_broker_subscriptions": ("Broker channels this worker subscribes to", "subscriptions"),
}
_COUNTERS = {
    "careconnect_hub_messages_stored": ("Messages stored and fanned out", "messages_stored"),
    "careconnect_hub_messages_duplicate": ("Resends answered with the original ack", "messages_duplicate"),
    "careconnect_hub_deliveries": ("Frames queued to sockets", "deliveries"),
    "careconnect_hub_queue_drops": ("Sockets closed because their queue overflowed", "queue_drops"),
    "careconnect_hub_gap_fills": ("Gaps filled from the store", "gap_fills"),
    "careconnect_hub_broker_failures": ("Broker publishes that failed", "broker_failures"),
    "careconnect_hub_user_limited": ("Sends refused by the per-user limit", "user_limited"),
    "careconnect_hub_user_limit_failures": (
        "Sends let through unchecked: the per-user counter was unreachable",
        "user_limit_failures",
    ),
    "careconnect_hub_origins_refused": ("Socket handshakes refused for their Origin", "origins_refused"),
}
_HISTOGRAMS: dict[str, tuple[str, Callable[[Hub], Histogram]]] = {
    "careconnect_hub_commit_seconds": (
        "Time the message writer's batches took to commit (append_batch)",
        lambda hub: hub.writer.commit_seconds,
    ),
    "careconnect_event_loop_lag_seconds": (
        "How late the worker's event loop ran a timer due every 50 ms",
        lambda hub: hub.loop_lag.seconds,
    ),
}


class HubMetrics:
    """One hub's gauges, counters and histograms, read at scrape time."""

    def __init__(self, hub: Hub, registry: CollectorRegistry = REGISTRY) -> None:
        self.hub = hub
        self.registry = registry

    def register(self) -> None:
        self.registry.register(self)

    def unregister(self) -> None:
        self.registry.unregister(self)

    def describe(self) -> Iterator[Metric]:
        """Nothing up front: the registry then neither scrapes at registration nor refuses a
        second live app's families (tests build several apps in one process)."""
        return iter(())

    def collect(self) -> Iterator[Metric]:
        hub = self.hub
        counts = hub.counts()
        for name, (doc, key) in _GAUGES.items():
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], counts[key])
            yield gauge
        for name, (doc, field) in _COUNTERS.items():
            counter = CounterMetricFamily(name, doc)
            counter.add_metric([], getattr(hub.stats, field))
            yield counter
        # Group commit: messages per transaction = the second over the first.
        batches = CounterMetricFamily("careconnect_hub_commit_batches", "Transactions the message writer committed")
        batches.add_metric([], hub.writer.batches)
        yield batches
        batched = CounterMetricFamily("careconnect_hub_commit_messages", "Messages in the writer's committed batches")
        batched.add_metric([], hub.writer.messages)
        yield batched
        for name, (doc, pick) in _HISTOGRAMS.items():
            histogram = pick(hub)
            family = HistogramMetricFamily(name, doc)
            family.add_metric([], histogram.cumulative(), histogram.sum)
            yield family
