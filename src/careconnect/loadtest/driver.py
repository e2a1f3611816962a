"""The load generator: connect a workload's members, send at its rate, count every delivery.

One asyncio process drives one workload against one target. Each message body starts with its
send time (``time.perf_counter_ns()``, same process), so a delivery's latency is its receive
time (stamped by the client as the bytes arrive) minus that. Every message id carries a
per-run tag, so replayed history from an earlier run is ignored. At the end (after ``drain``
seconds at most) a message counts as lost for every member of its room that never received
it, and a member receiving the same id twice counts a duplicate.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from array import array
from collections import Counter
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from careconnect.loadtest.members import Member, Target
from careconnect.loadtest.stats import cpu_ticks, hub_histograms_of, hub_window, own_cpu, percentiles, read_proc
from careconnect.loadtest.workload import Workload

NS = 1_000_000_000
PACING_TICK_S = 0.001
T = TypeVar("T")


class Tally:
    """Counts every send, ack and delivery of one run; the members' ``Sink``."""

    def __init__(self, tag: str | None = None) -> None:
        self.tag = tag or secrets.token_hex(3)
        self.prefix = self.tag + "."
        self.sent_room: list[int] = []
        self.sent_at: list[int] = []
        self.room_size: Counter[int] = Counter()
        self.received: list[int] = []
        self.seen: dict[int, set[int]] = {}
        self.latencies_ms: array[float] = array("d")
        self.ack_ms: array[float] = array("d")
        self.acked = 0
        self.duplicates = 0
        self.duplicate_acks = 0
        self.acked_ids: set[int] = set()
        self.errors: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()
        self.foreign = 0
        self.last_delivery = 0
        self.delivered = 0
        self.connected = 0

    def new_message(self, room: int) -> str:
        n = len(self.sent_room)
        self.sent_room.append(room)
        self.sent_at.append(0)
        self.received.append(0)
        return f"{self.prefix}{n}"

    def on_message(self, member: Member, msg_id: str, body: str, t: int) -> None:
        if not msg_id.startswith(self.prefix):
            self.foreign += 1  # replayed history from an earlier run
            return
        n = int(msg_id[len(self.prefix) :])
        seen = self.seen.setdefault(id(member), set())
        if n in seen:
            self.duplicates += 1
            return
        seen.add(n)
        self.received[n] += 1
        self.delivered += 1
        self.last_delivery = t
        sent = int(body.split(" ", 1)[0])
        self.latencies_ms.append((t - sent) / 1e6)

    def on_ack(self, msg_id: str, t: int) -> None:
        if not msg_id.startswith(self.prefix):
            return
        n = int(msg_id[len(self.prefix) :])
        if n in self.acked_ids:
            self.duplicate_acks += 1
            return
        self.acked_ids.add(n)
        self.acked += 1
        self.ack_ms.append((t - self.sent_at[n]) / 1e6)

    def on_error(self, code: str) -> None:
        self.errors[code] += 1

    def on_closed(self, member: Member, code: int | None) -> None:
        self.closed[str(code)] += 1

    def expected(self) -> int:
        return sum(self.room_size[room] for room in self.sent_room)


async def open_members(
    target: Target, layout: list[tuple[int, int]], tally: Tally, concurrency: int
) -> tuple[list[Member], list[float], Counter[str]]:
    """Connect every (room, member) pair, at most ``concurrency`` handshakes at a time."""
    gate = asyncio.Semaphore(concurrency)
    times: list[float] = []
    failures: Counter[str] = Counter()
    members: list[Member | None] = [None] * len(layout)

    async def one(i: int, room: int, member: int) -> None:
        async with gate:
            start = time.perf_counter()
            try:
                members[i] = await target.connect(room, member, tally)
            except Exception as exc:  # noqa: BLE001 - a refused or failed connection is counted, not fatal
                failures[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
                return
            times.append((time.perf_counter() - start) * 1000)
            tally.connected += 1

    await asyncio.gather(*(one(i, room, member) for i, (room, member) in enumerate(layout)))
    return [m for m in members if m is not None], times, failures


async def drive(
    members: list[Member], room_of: dict[str, int], tally: Tally, rate: float, duration: float, body_size: int
) -> tuple[int, float]:
    """Send ``rate`` messages/s for ``duration`` s, round-robin over ``members``; returns (sent, seconds)."""
    if not members or rate <= 0:
        await asyncio.sleep(duration)
        return 0, duration
    pad = "x" * max(0, body_size - 20)
    total = int(rate * duration)
    start = time.perf_counter()
    sent = 0
    k = 0
    counter = time.perf_counter_ns
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        while sent < due:
            member = members[k % len(members)]
            k += 1
            msg_id = tally.new_message(room_of[member.room])
            now = counter()
            tally.sent_at[-1] = now
            try:
                await member.send(msg_id, f"{now} {pad}")
            except Exception:  # noqa: BLE001 - a failed send is counted, and the member goes on
                tally.errors["send_failed"] += 1
            sent += 1
        next_at = start + sent / rate
        delay = next_at - time.perf_counter()
        if delay > 0:
            # At least a millisecond: uvloop's timers have millisecond resolution, so shorter
            # sleeps became a stream of zero-delay timers (a quarter of the generator's samples
            # at 4,000 messages/s). Whatever fell due meanwhile goes out in the next burst, each
            # message stamped when it is actually sent.
            await asyncio.sleep(max(delay, PACING_TICK_S))
        elif time.perf_counter() - start > duration * 2 + 5:
            break  # the load generator cannot keep up; stop and report the achieved rate
    return sent, time.perf_counter() - start


async def run(
    workload: Workload,
    target: Target,
    room_of: dict[str, int],
    tally: Tally | None = None,
    *,
    server_pid: int | Sequence[int] | None = None,
    metrics_url: str | Sequence[str] | None = None,
) -> tuple[dict[str, Any], list[Member]]:
    """Run ``workload`` against ``target``: the result (JSON-ready) and the members, closed.

    ``room_of`` maps the target's room names to workload rooms; ``server_pid`` (one or several,
    each with its workers) adds the server's RSS and CPU from /proc; ``metrics_url`` (the hub's
    /metrics, or each host's, summed) adds its commit and event-loop-lag histograms over the
    sending window.
    """
    tally = tally or Tally()
    metrics_urls = [metrics_url] if isinstance(metrics_url, str) else list(metrics_url or [])
    layout, rate = workload.layout()
    for room, _ in layout:
        tally.room_size[room] += 1

    before = read_proc(server_pid)
    t0 = time.perf_counter()
    members, connect_ms, failures = await open_members(target, layout, tally, workload.connect_concurrency)
    connect_s = time.perf_counter() - t0
    # Only the rooms' live members can receive: expected deliveries follow who actually joined.
    tally.room_size = Counter()
    for m in members:
        tally.room_size[room_of[m.room]] += 1
    await asyncio.sleep(workload.settle)
    connected = read_proc(server_pid)

    hub0 = await hub_histograms_of(metrics_urls) if metrics_urls else {}
    cpu0, server0, ticks0 = own_cpu(), read_proc(server_pid), cpu_ticks()
    send_start = time.perf_counter()
    duration = workload.duration if rate else workload.hold
    sent, send_s = await drive(members, room_of, tally, rate, duration, workload.body_size)
    expected = tally.expected()
    drain_deadline = time.perf_counter() + workload.drain
    needs_acks = target.acks
    while time.perf_counter() < drain_deadline and (  # noqa: ASYNC110 - polling counters, bounded by the drain
        tally.delivered < expected or (needs_acks and tally.acked + sum(tally.errors.values()) < sent)
    ):
        await asyncio.sleep(0.05)
    cpu1, server1, ticks1 = own_cpu(), read_proc(server_pid), cpu_ticks()
    window = time.perf_counter() - send_start
    hub1 = await hub_histograms_of(metrics_urls) if metrics_urls else {}
    busy_s = (tally.last_delivery / NS - send_start) if tally.delivered else send_s

    lost = expected - tally.delivered
    result: dict[str, Any] = {
        "target": target.name,
        "workload": workload.kind,
        "params": workload.params(),
        "connections": {
            "wanted": len(layout),
            "open": len(members),
            "failed": sum(failures.values()),
            "failures": dict(failures.most_common(5)),
            "seconds": round(connect_s, 3),
            "connect_ms": percentiles(connect_ms),
            "closed_by_server": dict(tally.closed),
        },
        "offered_msgs_per_s": rate,
        "offered_deliveries_per_s": round(
            sum(rate / len(members) * tally.room_size[room_of[m.room]] for m in members), 1
        )
        if members and rate
        else 0,
        "sent": sent,
        "send_seconds": round(send_s, 3),
        "achieved_msgs_per_s": round(sent / send_s, 1) if send_s else 0,
        "expected_deliveries": expected,
        "delivered": tally.delivered,
        "deliveries_per_s": round(tally.delivered / max(busy_s, send_s), 1) if tally.delivered else 0,
        "lost": lost,
        "messages_not_fully_delivered": sum(
            1 for n, room in enumerate(tally.sent_room) if tally.received[n] < tally.room_size[room]
        ),
        "duplicates": tally.duplicates,
        "foreign_replayed": tally.foreign,
        "errors": dict(tally.errors),
        "delivery_latency_ms": percentiles(tally.latencies_ms),
    }
    if needs_acks:
        result["acked"] = tally.acked
        result["unacked"] = sent - tally.acked
        result["duplicate_acks"] = tally.duplicate_acks
        result["ack_latency_ms"] = percentiles(tally.ack_ms)
    if server0 and server1:
        result["server"] = {
            "rss_mib_before": round(before.get("rss_mib", 0), 1),
            "rss_mib_connected": round(connected.get("rss_mib", 0), 1),
            "rss_mib_end": round(server1["rss_mib"], 1),
            "cpu_percent": round(100 * (server1["cpu_s"] - server0["cpu_s"]) / window, 1),
        }
        if members and before and connected:
            result["server"]["rss_kib_per_connection"] = round(
                (connected["rss_mib"] - before["rss_mib"]) * 1024 / len(members), 2
            )
    result["loadgen_cpu_percent"] = round(100 * (cpu1 - cpu0) / window, 1)
    if hub0 and hub1:
        result["hub_metrics"] = hub_window(hub0, hub1)
    if ticks1[0] > ticks0[0]:  # the machine's CPU stolen by the hypervisor while sending
        result["steal_percent"] = round(100 * (ticks1[1] - ticks0[1]) / (ticks1[0] - ticks0[0]), 1)

    await asyncio.gather(*(m.close() for m in members), return_exceptions=True)
    return result, members


def delivery_check(tally: Tally, members: list[Member], room_of: dict[str, int]) -> dict[str, int]:
    """For every member, every acked message of its room arrived exactly once and in seq order."""
    acked_in: dict[int, set[int]] = {}
    for n in tally.acked_ids:
        acked_in.setdefault(tally.sent_room[n], set()).add(n)
    lost = checked = out_of_order = 0
    for member in members:
        acked = acked_in.get(room_of[member.room], set())
        checked += len(acked)
        lost += len(acked - tally.seen.get(id(member), set()))
        out_of_order += member.out_of_order
    return {"checked": checked, "lost": lost, "duplicated": tally.duplicates, "out_of_order": out_of_order}


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop when it is installed (as the server runs), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
