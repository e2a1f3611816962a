"""Prometheus metrics beyond the per-request ones: the hub's sockets, rooms, messages, drops;
the outbox's jobs queued, sent, skipped, retried and failed, and how long the oldest has waited.

``HubMetrics(hub)`` and ``OutboxMetrics(stats)`` are one app's collectors: the app registers it with the process's registry
when it starts and takes it out when it stops (``register`` / ``unregister``), so nothing here
outlives the app that made it. Each worker process runs one app, so one hub per registry; tests
that run several apps at once see one family per live app.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from careconnect.db import replica_of
from careconnect.hub.config import Histogram

if TYPE_CHECKING:
    from piccolo.engine.base import Engine

    from careconnect.domain.notifications.outbox import OutboxStats
    from careconnect.hub import Hub

# Every problem answer, by status and code: failed sign-ins (401 unauthenticated), throttles (429
# rate_limited), refusals (403), bad input (4xx), faults (5xx). A plain prometheus_client counter:
# the process registry is global by design, and multiprocess mode carries it across workers.
REFUSALS = Counter(
    "careconnect_refusals", "Requests answered with problem details, by status and code", ["status", "code"]
)

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
    "careconnect_hub_connections": ("Sockets accepted since the worker started", "connections_total"),
    "careconnect_hub_signals_dropped": ("Typing and read frames not queued to a full socket", "signals_dropped"),
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


class AppCollector:
    """A collector one app owns: registered when the app starts, taken out when it stops."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
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
        raise NotImplementedError


class HubMetrics(AppCollector):
    """One hub's gauges, counters and histograms, read at scrape time."""

    def __init__(self, hub: Hub, registry: CollectorRegistry = REGISTRY) -> None:
        super().__init__(registry)
        self.hub = hub

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
        closes = CounterMetricFamily("careconnect_hub_closes", "Sockets the hub closed, by close code", labels=["code"])
        for code, count in sorted(hub.stats.closes.items()):
            closes.add_metric([str(code)], count)
        yield closes
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


_OUTBOX_COUNTERS = {
    "careconnect_outbox_queued": ("Jobs written to the outbox, by kind", "queued"),
    "careconnect_outbox_sent": ("Jobs carried out (mails the server accepted), by kind", "sent"),
    "careconnect_outbox_skipped": ("Jobs moot when their time came (visit moved, cancelled, passed)", "skipped"),
    "careconnect_outbox_retried": ("Attempts that failed and were rescheduled with backoff", "retried"),
    "careconnect_outbox_failed": ("Jobs given up: refused for good, or failing past OUTBOX_GIVE_UP_S", "failed"),
}


class OutboxMetrics(AppCollector):
    """One app's outbox (docs/notifications.md): jobs by kind and the oldest waiting age, read at scrape time."""

    def __init__(self, stats: OutboxStats, registry: CollectorRegistry = REGISTRY) -> None:
        super().__init__(registry)
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self.stats
        for name, (doc, field) in _OUTBOX_COUNTERS.items():
            counter = CounterMetricFamily(name, doc, labels=["kind"])
            for kind, value in sorted(getattr(stats, field).items()):
                counter.add_metric([kind], value)
            yield counter
        waiting = GaugeMetricFamily("careconnect_outbox_waiting", "Jobs due and not yet done, by kind", labels=["kind"])
        for kind, count in sorted(stats.waiting.items()):
            waiting.add_metric([kind], count)
        yield waiting
        oldest = GaugeMetricFamily(
            "careconnect_outbox_oldest_waiting_seconds", "How long the oldest job due and not yet done has waited"
        )
        oldest.add_metric([], stats.oldest_waiting_s(dt.datetime.now(dt.UTC)))
        yield oldest


# Each asyncpg pool's gauges: (name suffix, help, the pool's reader).
_POOL_GAUGES = (
    ("connections", "Connections the pool holds open", "get_size"),
    ("idle", "Open connections waiting for a query", "get_idle_size"),
    ("max", "The most connections the pool opens", "get_max_size"),
)


def _pool_gauges(prefix: str, pool: Any, whose: str = "") -> Iterator[Metric]:
    for suffix, doc, read in _POOL_GAUGES:
        gauge = GaugeMetricFamily(f"{prefix}_{suffix}", doc + whose)
        gauge.add_metric([], getattr(pool, read)())
        yield gauge


class DatabaseMetrics(AppCollector):
    """The PostgreSQL connection pool's size, idle connections and limit (nothing on SQLite),
    and with ``DATABASE_REPLICA_URL`` the replica's pool, whether it rests, and where its reads went."""

    def __init__(self, engine: Engine[Any], registry: CollectorRegistry = REGISTRY) -> None:
        super().__init__(registry)
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        pool = getattr(self.engine, "pool", None)
        if pool is None:
            return
        yield from _pool_gauges("careconnect_db_pool", pool)
        replica = replica_of(self.engine)
        if replica is None:
            return
        if replica.pool is not None:  # opened at startup; connects on first use
            yield from _pool_gauges("careconnect_db_replica_pool", replica.pool, " (the read replica's)")
        resting = GaugeMetricFamily(
            "careconnect_db_replica_resting",
            "1 while the replica rests after a failure and its reads go to the primary",
        )
        resting.add_metric([], 0.0 if replica.usable() else 1.0)
        yield resting
        for name, doc, value in (
            ("careconnect_db_replica_reads", "Lag-tolerant reads the replica answered", replica.reads),
            (
                "careconnect_db_replica_handed_to_primary",
                "Lag-tolerant reads the primary answered because the replica failed or was resting",
                replica.handed_to_primary,
            ),
        ):
            counter = CounterMetricFamily(name, doc)
            counter.add_metric([], float(value))
            yield counter
