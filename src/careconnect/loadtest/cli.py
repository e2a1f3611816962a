"""The ``careconnect loadtest`` command: a workload against a running server, with a live display
and the delivery check (every acked message reached every member of its room once, in order).

The rooms are made through the server's API for the run, or come from ``--rooms-file``
(``careconnect seed --load N --out F``). The load itself is the bench's generator
(``careconnect.loadtest.driver``), with the same flags (``careconnect.loadtest.workload``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from careconnect.cli import ADMIN_PASSWORD_ENV, command
from careconnect.loadtest.rooms import SetupError
from careconnect.loadtest.workload import Workload, add_workload_arguments, workload_from_args
from careconnect.settings import Settings

if TYPE_CHECKING:
    from rich.table import Table

    from careconnect.loadtest.driver import Tally

API_SETUP_CONCURRENCY = 16
DEFAULT_URL = "http://127.0.0.1:8000"


def _urls(text: str) -> list[str]:
    """One ``--url`` value: a base URL or a comma list of them, each http(s)://host[:port]."""
    urls = [u.strip().rstrip("/") for u in text.split(",") if u.strip()]
    if not urls:
        raise argparse.ArgumentTypeError("an empty URL")
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise argparse.ArgumentTypeError(f"{url!r} is not an http:// or https:// base URL")
    return urls


def server_urls(args: argparse.Namespace) -> list[str]:
    """Every ``--url`` given, in order, each once; the default when none."""
    given = [url for group in args.url or [[DEFAULT_URL]] for url in group]
    return list(dict.fromkeys(given))


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/") + "/ws"


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        action="append",
        type=_urls,
        help=f"the server to load (HTTP base URL; default {DEFAULT_URL}); repeat it or give a comma list to "
        "spread the members' sockets and the API calls round-robin over several hosts or workers of one "
        "deployment (or give one load balancer)",
    )
    add_workload_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--admin-email",
        help="an admin who approves the load's doctors on a server that vets them (DOCTOR_REGISTRATION=review) "
        f"and cleans up; the password from ${ADMIN_PASSWORD_ENV} or asked",
    )
    parser.add_argument(
        "--cleanup",
        action="store_true",
        help="afterwards complete the run's consultations and disable its accounts (needs --admin-email)",
    )


@command("loadtest", "drive rooms through the hub and check every delivery", _args)
def loadtest(args: argparse.Namespace, settings: Settings) -> int:
    from careconnect.loadtest.driver import run_loop

    if args.cleanup and (args.admin_email is None or args.rooms_file):
        print("careconnect loadtest: --cleanup needs --admin-email and rooms made by this run", file=sys.stderr)
        return 2
    try:
        report = run_loop(_run(args, workload_from_args(args)))
    except SetupError as exc:  # a setup step refused, or too few rooms in the rooms file
        print(f"careconnect loadtest: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    check = report["delivery_check"]
    return 1 if check["lost"] or check["duplicated"] or check["out_of_order"] or report["connect_failures"] else 0


async def _run(args: argparse.Namespace, workload: Workload) -> dict[str, Any]:
    import asyncio

    from rich.live import Live

    from careconnect.loadtest.driver import Tally, delivery_check, run
    from careconnect.loadtest.members import HubTarget
    from careconnect.loadtest.rooms import admin_headers, clean_up, open_consultations, read_rooms_file

    urls = server_urls(args)
    admin = await admin_headers(urls[0], args.admin_email, _admin_password()) if args.admin_email else None
    opened = []
    if args.rooms_file:
        specs = read_rooms_file(args.rooms_file)
    else:
        opened = await open_consultations(
            urls, workload.rooms_to_open(), concurrency=API_SETUP_CONCURRENCY, admin=admin
        )
        specs = [c.spec() for c in opened]
    target = HubTarget([ws_url(url) for url in urls], specs, client="careconnect-loadtest")
    target.wrap = workload.kind == "idle"
    try:
        room_of = {target.room_name(r): r for r in range(workload.room_count())}
    except RuntimeError as exc:
        raise SetupError(str(exc)) from exc
    tally = Tally()
    started = time.perf_counter()
    with Live(_progress(tally, workload, 0.0), refresh_per_second=4, transient=args.json) as live:

        async def show() -> None:
            while True:
                live.update(_progress(tally, workload, time.perf_counter() - started))
                await asyncio.sleep(0.25)

        display = asyncio.create_task(show())
        try:
            result, members = await run(workload, target, room_of, tally, server_pid=args.server_pid)
        finally:
            display.cancel()
        live.update(_progress(tally, workload, time.perf_counter() - started))
    report = _report(workload, len(room_of), result, delivery_check(tally, members, room_of))
    if len(urls) > 1:  # how the members were spread: each URL's sockets
        report["connections_per_url"] = {url: target.per_url[ws_url(url)] for url in urls}
    if args.cleanup and admin is not None:
        report["cleaned_up_accounts"] = await clean_up(urls, opened, admin, concurrency=API_SETUP_CONCURRENCY)
    return report


def _admin_password() -> str:
    import getpass

    from careconnect.settings import process_environment

    if from_env := process_environment().get(ADMIN_PASSWORD_ENV):
        return from_env
    try:
        return getpass.getpass("Admin password: ")
    except (EOFError, KeyboardInterrupt) as exc:
        raise SetupError(f"no admin password (set {ADMIN_PASSWORD_ENV} when there is no terminal)") from exc


def _report(workload: Workload, rooms: int, result: dict[str, Any], check: dict[str, int]) -> dict[str, Any]:
    """The load tester's report: the generator's result in the load tester's words."""
    connections = result["connections"]
    open_ = connections["open"]
    rate = result["offered_msgs_per_s"]
    report: dict[str, Any] = {
        "workload": workload.kind,
        "rooms": rooms,
        "members": connections["wanted"],
        "senders": open_ if rate else 0,
        "rate_per_sender": round(rate / open_, 3) if rate and open_ else 0.0,
        "duration_s": workload.duration if rate else workload.hold,
        "connections": open_,
        "connect_failures": connections["failed"],
        "connect_s": connections["seconds"],
        "connect_ms": connections["connect_ms"],
        "sent": result["sent"],
        "acked": result["acked"],
        "delivered": result["delivered"],
        "deliveries_per_s": result["deliveries_per_s"],
        "ack_ms": result["ack_latency_ms"],
        "delivery_ms": result["delivery_latency_ms"],
        "errors": result["errors"],
        "delivery_check": check,
    }
    if server := result.get("server"):
        report["server_rss_mb"] = {"before": server["rss_mib_before"], "after": server["rss_mib_end"]}
        if "rss_kib_per_connection" in server:
            report["server_rss_kb_per_connection"] = server["rss_kib_per_connection"]
    return report


def _progress(tally: Tally, workload: Workload, elapsed: float) -> Table:
    from rich.table import Table

    from careconnect.loadtest.stats import percentiles

    table = Table(title=f"careconnect loadtest: {workload.kind} ({elapsed:.0f}s)")
    for column in ("connections", "sent", "acked", "delivered", "errors", "ack p50/p99 ms", "delivery p50/p99 ms"):
        table.add_column(column, justify="right")
    ack, delivery = percentiles(tally.ack_ms[-2000:]), percentiles(tally.latencies_ms[-2000:])
    table.add_row(
        str(tally.connected),
        str(len(tally.sent_room)),
        str(tally.acked),
        str(tally.delivered),
        str(sum(tally.errors.values())),
        f"{ack['p50']}/{ack['p99']}",
        f"{delivery['p50']}/{delivery['p99']}",
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
