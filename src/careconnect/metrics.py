"""Prometheus metrics beyond the per-request ones: the hub's sockets, rooms, messages, drops;
the outbox's jobs queued, sent, skipped, retried and failed, and how long the oldest has waited."""

from __future__ import annotations

import collections
import datetime as dt
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from careconnect.hub.config import Histogram

if TYPE_CHECKING:
    from careconnect.domain.notifications.outbox import OutboxStats

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
            "careconnect_hub_user_limited": ("Sends refused by the per-user limit", "user_limited"),
            "careconnect_hub_user_limit_failures": (
                "Sends let through unchecked: the per-user counter was unreachable",
                "user_limit_failures",
            ),
            "careconnect_hub_origins_refused": ("Socket handshakes refused for their Origin", "origins_refused"),
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
        histograms: dict[str, tuple[str, Callable[[Any], Histogram]]] = {
            "careconnect_hub_commit_seconds": (
                "Time the message writer's batches took to commit (append_batch)",
                lambda hub: hub.writer.commit_seconds,
            ),
            "careconnect_event_loop_lag_seconds": (
                "How late the worker's event loop ran a timer due every 50 ms",
                lambda hub: hub.loop_lag.seconds,
            ),
        }
        for name, (doc, pick) in histograms.items():
            merged = Histogram()  # one hub per worker; more only in tests
            for hub in hubs:
                merged.add(pick(hub))
            family = HistogramMetricFamily(name, doc)
            family.add_metric([], merged.cumulative(), merged.sum)
            yield family


_collector = HubCollector()
REGISTRY.register(_collector)


def track(hub: Any) -> None:
    _HUBS.add(hub)


# issue 17: the outbox (docs/notifications.md). One OutboxStats per app (one per worker process;
# more only in tests); counters are summed, the oldest waiting age is the largest.
_OUTBOXES: weakref.WeakSet[OutboxStats] = weakref.WeakSet()


class OutboxCollector:
    def collect(self) -> Iterator[Any]:
        outboxes = list(_OUTBOXES)
        counters = {
            "careconnect_outbox_queued": ("Jobs written to the outbox, by kind", "queued"),
            "careconnect_outbox_sent": ("Jobs carried out (mails the server accepted), by kind", "sent"),
            "careconnect_outbox_skipped": (
                "Jobs moot when their time came (visit moved, cancelled, passed)",
                "skipped",
            ),
            "careconnect_outbox_retried": ("Attempts that failed and were rescheduled with backoff", "retried"),
            "careconnect_outbox_failed": (
                "Jobs given up: refused for good, or failing past OUTBOX_GIVE_UP_S",
                "failed",
            ),
        }
        for name, (doc, field) in counters.items():
            counter = CounterMetricFamily(name, doc, labels=["kind"])
            totals: collections.Counter[str] = collections.Counter()
            for stats in outboxes:
                totals.update(getattr(stats, field))
            for kind, value in sorted(totals.items()):
                counter.add_metric([kind], value)
            yield counter
        waiting = GaugeMetricFamily("careconnect_outbox_waiting", "Jobs due and not yet done, by kind", labels=["kind"])
        latest: dict[str, int] = {}
        for stats in outboxes:
            for kind, count in stats.waiting.items():
                latest[kind] = max(latest.get(kind, 0), count)  # every worker reads the same table
        for kind, count in sorted(latest.items()):
            waiting.add_metric([kind], count)
        yield waiting
        now = dt.datetime.now(dt.UTC)
        oldest = GaugeMetricFamily(
            "careconnect_outbox_oldest_waiting_seconds", "How long the oldest job due and not yet done has waited"
        )
        oldest.add_metric([], max((stats.oldest_waiting_s(now) for stats in outboxes), default=0.0))
        yield oldest


REGISTRY.register(OutboxCollector())


def track_outbox(stats: OutboxStats) -> None:
    _OUTBOXES.add(stats)
