"""What a load run measures besides its own tally: percentiles, the server's /proc and the hub's /metrics."""

from __future__ import annotations

import asyncio
import os
import resource
import urllib.request
from collections.abc import Sequence

HUB_HISTOGRAMS = {"commit_ms": "careconnect_hub_commit_seconds", "loop_lag_ms": "careconnect_event_loop_lag_seconds"}
HUB_COUNTERS = ("careconnect_hub_commit_batches_total", "careconnect_hub_commit_messages_total")

# A histogram as read from /metrics: (upper bound, cumulative count) pairs, ascending, the last inf.
Buckets = list[tuple[float, float]]
HubReading = dict[str, Buckets | float]


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p90, p99, max and mean of ``values`` (ms), 3 decimals; all None when there are none."""
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)
    n = len(ordered)

    def pick(q: float) -> float:
        return round(ordered[min(n - 1, int(q * n))], 3)

    return {
        "p50": pick(0.50),
        "p90": pick(0.90),
        "p99": pick(0.99),
        "max": round(ordered[-1], 3),
        "mean": round(sum(ordered) / n, 3),
    }


def bucket_quantile(buckets: Buckets, q: float) -> float:
    """The ``q`` quantile of a cumulative histogram, interpolated linearly inside its bucket as Prometheus does."""
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower  # beyond the last finite bound: report that bound
            return lower + (bound - lower) * ((rank - below) / (count - below) if count > below else 0.0)
        lower, below = bound, count
    return lower


def read_proc(pid: int | Sequence[int] | None) -> dict[str, float]:
    """The server's RSS (MiB) and CPU seconds so far, from /proc; empty when unknown.

    ``pid`` is the server's process, or several (hosts of one deployment); each counts with its
    descendants, so a ``serve --workers N`` supervisor counts its workers too.
    """
    roots = [pid] if isinstance(pid, int) else list(pid or [])
    if not roots:
        return {}
    rss_kb, cpu, ticks = 0, 0.0, os.sysconf("SC_CLK_TCK")
    for one in _with_descendants(roots):
        try:
            with open(f"/proc/{one}/status") as fh:
                rss_kb += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
            with open(f"/proc/{one}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, StopIteration, ValueError):
            if one in roots:
                return {}  # the server itself is gone; a worker that just exited is skipped
    return {"rss_mib": rss_kb / 1024, "cpu_s": cpu}


def _with_descendants(roots: Sequence[int]) -> list[int]:
    """``roots`` and every process below them, from each process's parent in /proc."""
    children: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return list(roots)
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parent = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], list(roots)
    while todo:
        one = todo.pop()
        found.append(one)
        todo.extend(children.get(one, []))
    return found


def cpu_ticks() -> tuple[int, int]:
    """The machine's (total, steal) CPU ticks so far, from /proc/stat's ``cpu`` line; (0, 0) when
    unknown. Steal is time a virtual CPU wanted to run and the hypervisor ran someone else."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields[:8]), (fields[7] if len(fields) > 7 else 0)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def hub_histograms(metrics_url: str) -> HubReading:
    """The hub's commit and event-loop-lag histograms (cumulative bucket counts) and its commit
    counters, read from its /metrics; empty when unreachable."""

    def fetch() -> str:
        with urllib.request.urlopen(metrics_url, timeout=10) as response:
            return str(response.read().decode())

    try:
        text = await asyncio.to_thread(fetch)
    except OSError:
        return {}
    found: HubReading = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        for key, metric in HUB_HISTOGRAMS.items():
            if name.startswith(f"{metric}_bucket{{"):
                bound = name.split('le="')[1].split('"')[0]
                buckets = found.setdefault(key, [])
                assert isinstance(buckets, list)
                buckets.append((float(bound), float(value)))
        if name in HUB_COUNTERS:
            found[name] = float(value)
    return found


async def hub_histograms_of(urls: Sequence[str]) -> HubReading:
    """``hub_histograms`` summed over several hubs of one deployment (each host's /metrics);
    empty when any is unreachable (a sum with a hole in it would mislead)."""
    readings = await asyncio.gather(*(hub_histograms(url) for url in urls))
    if not readings or any(not r for r in readings):
        return {}
    total: HubReading = {}
    for reading in readings:
        for key, value in reading.items():
            if isinstance(value, list):
                early = total.get(key)
                counts = dict(early) if isinstance(early, list) else {}
                for bound, n in value:
                    counts[bound] = counts.get(bound, 0.0) + n
                total[key] = sorted(counts.items())
            else:
                had = total.get(key, 0.0)
                total[key] = (had if isinstance(had, float) else 0.0) + value
    return total


def hub_window(before: HubReading, after: HubReading) -> dict[str, object]:
    """What the hub's histograms counted between two reads: count, p50 and p99 in ms."""
    window: dict[str, object] = {}
    for key in HUB_HISTOGRAMS:
        early, late = before.get(key), after.get(key)
        if not isinstance(early, list) or not isinstance(late, list):
            continue
        counts = dict(early)
        buckets = sorted((bound, n - counts.get(bound, 0)) for bound, n in late)
        if buckets[-1][1] > 0:
            window[key] = {
                "count": int(buckets[-1][1]),
                "p50": round(bucket_quantile(buckets, 0.50) * 1e3, 3),
                "p99": round(bucket_quantile(buckets, 0.99) * 1e3, 3),
                "p999": round(bucket_quantile(buckets, 0.999) * 1e3, 3),
                # the highest bucket anything fell in: (lower, upper] bounds in ms
                "max_bucket_ms": _max_bucket(buckets),
            }
    batches = _counter(after, HUB_COUNTERS[0]) - _counter(before, HUB_COUNTERS[0])
    if batches > 0:
        messages = _counter(after, HUB_COUNTERS[1]) - _counter(before, HUB_COUNTERS[1])
        window["messages_per_batch"] = round(messages / batches, 2)
    return window


def _counter(reading: HubReading, name: str) -> float:
    value = reading.get(name, 0.0)
    return value if isinstance(value, float) else 0.0


def _max_bucket(buckets: Buckets) -> list[float]:
    lower, below = 0.0, 0.0
    top = [0.0, 0.0]
    for bound, count in buckets:
        if count > below:
            top = [round(lower * 1e3, 3), round(bound * 1e3, 3) if bound != float("inf") else -1.0]
        lower, below = bound, count
    return top


def metrics_url(ws_url: str) -> str:
    """The hub's /metrics beside its WebSocket endpoint (``ws://host:port/ws``)."""
    return ws_url.replace("ws://", "http://", 1).rsplit("/", 1)[0] + "/metrics"
