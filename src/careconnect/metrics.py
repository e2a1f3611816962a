"""Prometheus metrics beyond the per-request ones: the hub's sockets, rooms, messages, drops."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

_HUBS: weakref.WeakSet[Any] = weakref.WeakSet()


class HubCollector:
    def collect(self) -> Iterator[Any]:
        hubs = list(_HUBS)
        gauges = {
            "careconnect_hub_open_sockets": ("Open hub WebSockets on this worker", "connections"),
            "careconnect_hub_rooms": ("Rooms with members on this worker", "rooms"),
            "careconnect_hub_broker_subscriptions": ("Broker channels this worker subscribes to", "subscriptions"),
        }
        for name, (doc, key) in gauges.items():
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], sum(hub.counts()[key] for hub in hubs))
            yield gauge
        counters = {
            "careconnect_hub_messages_stored": ("Messages stored and fanned out", "messages_stored"),
            "careconnect_hub_messages_duplicate": ("Resends answered with the original ack", "messages_duplicate"),
            "careconnect_hub_deliveries": ("Frames queued to sockets", "deliveries"),
            "careconnect_hub_queue_drops": ("Sockets closed because their queue overflowed", "queue_drops"),
            "careconnect_hub_gap_fills": ("Gaps filled from the store", "gap_fills"),
            "careconnect_hub_broker_failures": ("Broker publishes that failed", "broker_failures"),
        }
        for name, (doc, field) in counters.items():
            counter = CounterMetricFamily(name, doc)
            counter.add_metric([], sum(getattr(hub.stats, field) for hub in hubs))
            yield counter
        # Group commit: messages per transaction = the second over the first.
        batches = CounterMetricFamily("careconnect_hub_commit_batches", "Transactions the message writer committed")
        batches.add_metric([], sum(hub.writer.batches for hub in hubs))
        yield batches
        batched = CounterMetricFamily("careconnect_hub_commit_messages", "Messages in the writer's committed batches")
        batched.add_metric([], sum(hub.writer.messages for hub in hubs))
        yield batched


_collector = HubCollector()
REGISTRY.register(_collector)  # type: ignore[arg-type]


def track(hub: Any) -> None:
    _HUBS.add(hub)
