"""One ``/metrics`` scrape that covers every worker of ``serve --workers N``.

With several workers a scrape lands on one of them at random. ``serve`` then gives every worker
one ``PROMETHEUS_MULTIPROC_DIR`` (made empty at start): prometheus_client's multiprocess mode
keeps the per-request metrics of every worker there (memory-mapped files), and
``MultiProcessCollector`` reads them all. The app's own collectors (the hub's, the outbox's) read
live state at scrape time, which multiprocess mode cannot carry, so each worker also writes what
they collect to ``app-<pid>.json`` in the same folder every ``interval_s`` seconds (and the worker
answering a scrape first writes its own); the scrape merges the files of the workers still alive.

Merging sums a sample over the workers (sockets, rooms, counters, histogram buckets), except the
families that describe the shared database rather than the worker (``MAX_FAMILIES``: each worker
reads the same outbox, so their largest reading is the answer, not the sum).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.metrics_core import Metric

log = logging.getLogger("careconnect.metrics")
ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_FAMILIES = frozenset({"careconnect_outbox_waiting", "careconnect_outbox_oldest_waiting_seconds"})
PREFIX = "app-"


def shared_folder() -> Path | None:
    """The folder every worker shares, when ``serve`` runs several (else None: one process)."""
    raw = os.environ.get(ENV)
    return Path(raw) if raw else None


def prepare_shared_folder(folder: Path) -> None:
    """Called by ``serve`` before the workers start: an empty folder (files of an earlier run
    would count its workers' requests again)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        if stale.is_file():
            stale.unlink()
    os.environ[ENV] = str(folder)


def _families(collectors: Iterable[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for collector in collectors:
        for family in collector.collect():
            samples = [[s.name, dict(s.labels), s.value] for s in family.samples]
            out.append({"name": family.name, "type": family.type, "doc": family.documentation, "samples": samples})
    return out


class WorkerSnapshots:
    """This worker's side: writes the app collectors' samples to ``app-<pid>.json`` now and then."""

    def __init__(self, folder: Path, collectors: Iterable[Any], interval_s: float = 2.0) -> None:
        self.folder = folder
        self.collectors = list(collectors)
        self.interval_s = interval_s
        self.path = folder / f"{PREFIX}{os.getpid()}.json"
        self._task: asyncio.Task[None] | None = None

    def write(self) -> None:
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(_families(self.collectors)))
        partial.replace(self.path)  # a reader never sees half a file

    async def _loop(self) -> None:
        while True:
            try:
                self.write()
            except OSError as exc:
                log.warning("metrics: could not write %s: %s", self.path, exc)
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="careconnect-metrics-snapshot")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(OSError):
            self.path.unlink()  # a worker that stopped counts no more
        with contextlib.suppress(OSError, KeyError):
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class MergedSnapshots:
    """The scrape's side: every live worker's app families, merged into one set."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, tuple[str, str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]] = {}
        for path in sorted(self.folder.glob(f"{PREFIX}*.json")):
            pid = path.stem.removeprefix(PREFIX)
            if not pid.isdigit() or not _alive(int(pid)):
                continue
            try:
                families = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # replaced as we read it: the next scrape has it
            for family in families:
                name = family["name"]
                _, _, values = merged.setdefault(name, (family["type"], family["doc"], {}))
                for sample_name, labels, value in family["samples"]:
                    key = (sample_name, tuple(sorted(labels.items())))
                    if key in values and name in MAX_FAMILIES:
                        values[key] = max(values[key], value)
                    else:
                        values[key] = values.get(key, 0.0) + value
        for name, (kind, doc, values) in merged.items():
            metric = Metric(name, doc, kind)
            for (sample_name, labels), value in values.items():
                metric.add_sample(sample_name, dict(labels), value)
            yield metric


def scrape_registry(folder: Path) -> CollectorRegistry:
    """What a scrape reads with several workers: every worker's per-request metrics and app families."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(folder))  # type: ignore[no-untyped-call]
    registry.register(MergedSnapshots(folder))
    return registry
