"""The load generator: one asyncio process that drives one workload against one target.

    python -m bench.loadgen --target ws --url ws://127.0.0.1:9001/ws --workload broadcast \
        --members 200 --rate 50 --duration 10 --json-out out.json

Workloads:
  broadcast  1 room x ``--members`` members; ``--rate`` messages/s in total, sent round-robin
             by every member (so each member sends rate/members per second).
  clinic     ``--rooms`` rooms x 2 members; each member sends ``--member-rate`` messages/s.
  idle       ``--connections`` quiet connections (2 per room); reports the server's RSS per
             connection from /proc/<--server-pid>/status.

Each message body starts with its send time (``time.perf_counter_ns()``, same process), so a
delivery's latency is its receive time minus that. Every message id carries a per-run tag, so
replayed history from an earlier run is ignored. At the end (after ``--drain`` seconds at most)
a message counts as lost for every member of its room that never received it, and a member
receiving the same id twice counts a duplicate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import sys
import time
from array import array
from collections import Counter
from typing import Any

from bench.targets import Member, Target, make_target

NS = 1_000_000_000


WORKLOAD_PARAMS = {
    "broadcast": ("members", "rate", "duration"),
    "clinic": ("rooms", "member_rate", "duration"),
    "idle": ("connections", "hold"),
}


PACING_TICK_S = 0.001


def percentiles(values: array[float] | list[float]) -> dict[str, float | None]:
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


def read_proc(pid: int | None) -> dict[str, float]:
    """The server's RSS (MiB) and CPU seconds so far, from /proc; empty when unknown."""
    if not pid:
        return {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            rss_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, StopIteration, ValueError):
        return {}
    return {"rss_mib": rss_kb / 1024, "cpu_s": cpu}


def cpu_ticks() -> tuple[int, int]:
    """The machine's (total, steal) CPU ticks so far, from /proc/stat's ``cpu`` line; (0, 0) when
    unknown. Steal is time a virtual CPU wanted to run and the hypervisor ran someone else."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields[:8]), (fields[7] if len(fields) > 7 else 0)


HUB_HISTOGRAMS = {"commit_ms": "careconnect_hub_commit_seconds", "loop_lag_ms": "careconnect_event_loop_lag_seconds"}


async def hub_histograms(args: argparse.Namespace) -> dict[str, Any]:
    """The hub's commit and event-loop-lag histograms (cumulative bucket counts) and its commit
    counters, read from its /metrics; empty when unreachable."""
    import urllib.request

    url = args.url.replace("ws://", "http://", 1).rsplit("/", 1)[0] + "/metrics"

    def fetch() -> str:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    try:
        text = await asyncio.to_thread(fetch)
    except OSError:
        return {}
    found: dict[str, Any] = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        for key, metric in HUB_HISTOGRAMS.items():
            if name.startswith(f"{metric}_bucket{{"):
                bound = name.split('le="')[1].split('"')[0]
                found.setdefault(key, []).append((float(bound), float(value)))
        if name in ("careconnect_hub_commit_batches_total", "careconnect_hub_commit_messages_total"):
            found[name] = float(value)
    return found


def hub_window(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the hub's histograms counted between two reads: count, p50 and p99 in ms."""
    from bench.report import bucket_quantile

    window: dict[str, Any] = {}
    for key in HUB_HISTOGRAMS:
        if key not in before or key not in after:
            continue
        counts = dict(before[key])
        buckets = sorted((bound, n - counts.get(bound, 0)) for bound, n in after[key])
        if buckets[-1][1] > 0:
            window[key] = {
                "count": int(buckets[-1][1]),
                "p50": round(bucket_quantile(buckets, 0.50) * 1e3, 3),
                "p99": round(bucket_quantile(buckets, 0.99) * 1e3, 3),
                "p999": round(bucket_quantile(buckets, 0.999) * 1e3, 3),
                # the highest bucket anything fell in: (lower, upper] bounds in ms
                "max_bucket_ms": _max_bucket(buckets),
            }
    batches = after.get("careconnect_hub_commit_batches_total", 0) - before.get(
        "careconnect_hub_commit_batches_total", 0
    )
    if batches > 0:
        messages = after.get("careconnect_hub_commit_messages_total", 0) - before.get(
            "careconnect_hub_commit_messages_total", 0
        )
        window["messages_per_batch"] = round(messages / batches, 2)
    return window


def _max_bucket(buckets: list[tuple[float, float]]) -> list[float]:
    lower, below = 0.0, 0.0
    top = [0.0, 0.0]
    for bound, count in buckets:
        if count > below:
            top = [round(lower * 1e3, 3), round(bound * 1e3, 3) if bound != float("inf") else -1.0]
        lower, below = bound, count
    return top


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Tally:
    """Counts every send, ack and delivery of one run; implements the targets' ``Sink``."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.prefix = tag + "."
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


async def run(args: argparse.Namespace, target: Target, room_of: dict[str, int]) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    tally = Tally(tag)
    if args.workload == "broadcast":
        layout = [(0, j) for j in range(args.members)]
        rate = args.rate
    elif args.workload == "clinic":
        layout = [(r, j) for r in range(args.rooms) for j in range(2)]
        rate = args.rooms * 2 * args.member_rate
    else:
        layout = [(i // 2, i % 2) for i in range(args.connections)]
        rate = 0.0
    for room, _ in layout:
        tally.room_size[room] += 1

    before = read_proc(args.server_pid)
    t0 = time.perf_counter()
    members, connect_ms, failures = await open_members(target, layout, tally, args.connect_concurrency)
    connect_s = time.perf_counter() - t0
    # Only the rooms' live members can receive: expected deliveries follow who actually joined.
    tally.room_size = Counter()
    for m in members:
        tally.room_size[room_of[m.room]] += 1
    await asyncio.sleep(args.settle)
    connected = read_proc(args.server_pid)

    hub0 = await hub_histograms(args) if args.target == "careconnect" else {}
    cpu0, server0, ticks0 = own_cpu(), read_proc(args.server_pid), cpu_ticks()
    send_start = time.perf_counter()
    sent, send_s = await drive(members, room_of, tally, rate, args.duration if rate else args.hold, args.body_size)
    expected = tally.expected()
    drain_deadline = time.perf_counter() + args.drain
    needs_acks = args.target == "careconnect"
    while time.perf_counter() < drain_deadline and (  # noqa: ASYNC110 - polling counters, bounded by --drain
        tally.delivered < expected or (needs_acks and tally.acked + sum(tally.errors.values()) < sent)
    ):
        await asyncio.sleep(0.05)
    cpu1, server1, ticks1 = own_cpu(), read_proc(args.server_pid), cpu_ticks()
    window = time.perf_counter() - send_start
    hub1 = await hub_histograms(args) if args.target == "careconnect" else {}
    busy_s = (tally.last_delivery / NS - send_start) if tally.delivered else send_s

    lost = expected - tally.delivered
    result: dict[str, Any] = {
        "target": args.target,
        "workload": args.workload,
        "params": {k: getattr(args, k) for k in WORKLOAD_PARAMS[args.workload] + ("body_size", "drain")},
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
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, choices=["ws", "litestar", "django", "socketio", "careconnect"])
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/ws (socket.io: ws://127.0.0.1:PORT)")
    parser.add_argument("--rooms-file", help="careconnect: the JSON written by python -m bench.hub_setup")
    parser.add_argument("--workload", required=True, choices=["broadcast", "clinic", "idle"])
    parser.add_argument("--members", type=int, default=200, help="broadcast: members in the one room")
    parser.add_argument("--rate", type=float, default=50.0, help="broadcast: messages/s in total")
    parser.add_argument("--rooms", type=int, default=100, help="clinic: rooms of 2 members")
    parser.add_argument("--member-rate", type=float, default=2.0, help="clinic: messages/s per member")
    parser.add_argument("--connections", type=int, default=1000, help="idle: connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending")
    parser.add_argument("--hold", type=float, default=5.0, help="idle: seconds to hold the connections")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds between connecting and sending")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait for the last deliveries")
    parser.add_argument("--body-size", type=int, default=100, help="characters per message body")
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument("--server-pid", type=int, help="the server process, for RSS and CPU from /proc")
    parser.add_argument("--json-out", help="write the result here as well as to stdout")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    target = make_target(args.target, args.url, args.rooms_file)
    if args.workload == "idle" and hasattr(target, "wrap"):
        target.wrap = True
    room_count = {"broadcast": 1, "clinic": args.rooms, "idle": (args.connections + 1) // 2}[args.workload]
    try:
        room_of = {target.room_name(r): r for r in range(room_count)}
    except RuntimeError as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 2
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    budget = args.duration + args.hold + args.drain + args.settle + 180
    try:
        result = runner(asyncio.wait_for(run(args, target, room_of), budget))
    except TimeoutError:
        print(f"loadgen: gave up after {budget:.0f} s", file=sys.stderr)
        return 1
    text = json.dumps(result, indent=2)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
