"""The ``careconnect loadtest`` command: workloads clinic, broadcast and idle, with a rich display."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from careconnect.cli import command
from careconnect.loadtest.driver import Member, Stats, delivery_check, percentile
from careconnect.loadtest.setup import open_rooms
from careconnect.settings import Settings


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server to load (HTTP base URL)")
    parser.add_argument("--workload", choices=("clinic", "broadcast", "idle"), default="clinic")
    parser.add_argument("--rooms", type=int, default=50, help="rooms (clinic) ")
    parser.add_argument("--members", type=int, default=200, help="sockets in the room (broadcast) or in total (idle)")
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second per sending member")
    parser.add_argument("--senders", type=int, default=2, help="sending members in the broadcast room")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of sending")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait for the last deliveries")
    parser.add_argument("--body-size", type=int, default=100)
    parser.add_argument("--rooms-file", default="", help="JSON from `careconnect seed --load N` instead of API setup")
    parser.add_argument("--server-pid", type=int, default=0, help="report this process's RSS (idle workload)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


@command("loadtest", "drive rooms through the hub and check every delivery", _args)
def loadtest(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(run(args))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    check = report["delivery_check"]
    return 1 if check["lost"] or check["duplicated"] or check["out_of_order"] or report["connect_failures"] else 0


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ws_url = args.url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/ws"
    stats = Stats()
    if args.rooms_file:
        specs = json.loads(Path(args.rooms_file).read_text())["rooms"]  # noqa: ASYNC240 - one small file before the run starts
    else:
        needed = args.rooms if args.workload == "clinic" else 1
        specs = await open_rooms(args.url, needed)
    rooms: dict[str, list[Member]] = {}
    senders: list[Member] = []
    if args.workload == "clinic":
        for spec in specs[: args.rooms]:
            members = [Member(ws_url, token, spec["room"], stats) for token in spec["tokens"]]
            rooms[spec["room"]] = members
            senders.extend(members)
    else:
        spec = specs[0]
        members = [Member(ws_url, spec["tokens"][i % 2], spec["room"], stats) for i in range(args.members)]
        rooms[spec["room"]] = members
        senders = members[: args.senders] if args.workload == "broadcast" else []
    everyone = [m for ms in rooms.values() for m in ms]
    rss_before = _rss_mb(args.server_pid) if args.server_pid else None
    started = time.perf_counter()
    gate = asyncio.Semaphore(100)

    async def connect(member: Member) -> None:
        async with gate:
            try:
                await member.connect()
            except Exception:  # noqa: BLE001 - counted, and the run goes on
                stats.connect_failures += 1

    from rich.live import Live

    with Live(_progress(stats, args, 0.0), refresh_per_second=4, transient=args.json) as live:
        await asyncio.gather(*(connect(m) for m in everyone))
        connect_s = time.perf_counter() - started
        until = time.perf_counter() + args.duration
        sending = asyncio.gather(*(m.send_at(args.rate, until, args.body_size) for m in senders if m.ws is not None))
        while not sending.done():
            live.update(_progress(stats, args, time.perf_counter() - started))
            await asyncio.sleep(0.25)
        await sending
        deadline = time.perf_counter() + args.drain
        while time.perf_counter() < deadline and (stats.acked < stats.sent or not _all_delivered(rooms)):
            live.update(_progress(stats, args, time.perf_counter() - started))
            await asyncio.sleep(0.1)
        live.update(_progress(stats, args, time.perf_counter() - started))
    rss_after = _rss_mb(args.server_pid) if args.server_pid else None
    check = delivery_check(rooms)
    await asyncio.gather(*(m.close() for m in everyone))
    report = {
        "workload": args.workload,
        "rooms": len(rooms),
        "members": len(everyone),
        "senders": len(senders),
        "rate_per_sender": args.rate,
        "duration_s": args.duration,
        "connections": stats.connections,
        "connect_failures": stats.connect_failures,
        "connect_s": round(connect_s, 2),
        "connect_ms": {"p50": percentile(stats.connect_ms, 50), "p99": percentile(stats.connect_ms, 99)},
        "sent": stats.sent,
        "acked": stats.acked,
        "delivered": stats.delivered,
        "deliveries_per_s": round(stats.delivered / args.duration, 1) if args.duration else None,
        "ack_ms": {"p50": percentile(stats.ack_ms, 50), "p99": percentile(stats.ack_ms, 99)},
        "delivery_ms": {"p50": percentile(stats.delivery_ms, 50), "p99": percentile(stats.delivery_ms, 99)},
        "errors": dict(stats.errors),
        "delivery_check": check,
    }
    if args.server_pid:
        report["server_rss_mb"] = {"before": rss_before, "after": rss_after}
        if rss_after and stats.connections:
            report["server_rss_kb_per_connection"] = round(
                (rss_after - (rss_before or 0)) * 1024 / stats.connections, 1
            )
    return report


def _all_delivered(rooms: dict[str, list[Member]]) -> bool:
    for members in rooms.values():
        acked = {seq for m in members for seq in m.acked.values()}
        if any(not acked <= set(m.received) for m in members):
            return False
    return True


def _progress(stats: Stats, args: argparse.Namespace, elapsed: float) -> Any:
    from rich.table import Table

    table = Table(title=f"careconnect loadtest: {args.workload} ({elapsed:.0f}s)")
    for column in ("connections", "sent", "acked", "delivered", "errors", "ack p50/p99 ms", "delivery p50/p99 ms"):
        table.add_column(column, justify="right")
    table.add_row(
        str(stats.connections),
        str(stats.sent),
        str(stats.acked),
        str(stats.delivered),
        str(sum(stats.errors.values())),
        f"{percentile(stats.ack_ms[-2000:], 50)}/{percentile(stats.ack_ms[-2000:], 99)}",
        f"{percentile(stats.delivery_ms[-2000:], 50)}/{percentile(stats.delivery_ms[-2000:], 99)}",
    )
    return table


def _print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="careconnect loadtest report")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    Console().print(table)
    check = report["delivery_check"]
    verdict = "PASS" if not (check["lost"] or check["duplicated"] or check["out_of_order"]) else "FAIL"
    Console().print(f"delivery check: {verdict} ({check})")
