"""The printed report of a bench run: the machine, the command, a table per workload point with
ratios to the ceiling, and CareConnect's ratios to each peer."""

from __future__ import annotations

from typing import Any

CEILING = "ws"
HUB = "careconnect"
NAMES = {
    "careconnect": "CareConnect hub",
    "socketio": "python-socketio+Redis",
    "django": "Django Channels+Redis",
    "litestar": "Litestar channels+Redis",
    "ws": "websockets (ceiling)",
}


TOPOLOGIES = ("one", "two-workers", "two-hosts", "two-hosts-direct")


def label(run: dict[str, Any]) -> str:
    """A run's row: its target, with the hub's topology when it is not one worker (``careconnect@two-hosts``)."""
    topology = run.get("topology")
    return run["target"] if topology in (None, "one") else f"{run['target']}@{topology}"


def row_names() -> list[str]:
    """Every row in the order printed: the hub in each topology, then the peers."""
    return [HUB, *(f"{HUB}@{t}" for t in TOPOLOGIES[1:]), "socketio", "django", "litestar", "ws"]


def display_name(row: str) -> str:
    target, _, topology = row.partition("@")
    name = NAMES.get(target, target)
    return f"{name} [{topology}]" if topology else name


def point_key(run: dict[str, Any]) -> str:
    p = run.get("params", {})
    if run.get("workload") == "broadcast":
        return f"broadcast 1x{p.get('members')} @ {p.get('rate'):g} msg/s"
    if run.get("workload") == "clinic":
        return f"clinic {p.get('rooms')}x2 @ {p.get('member_rate'):g} msg/s/member"
    return f"idle {p.get('connections')} connections"


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _rank_value(run: dict[str, Any]) -> float:
    """What a round is ranked by: idle RSS per socket, else p99 delivery latency (errors last)."""
    if "error" in run:
        return float("inf")
    if run.get("workload") == "idle":
        return float(run.get("server", {}).get("rss_kib_per_connection") or float("inf"))
    p99 = run.get("delivery_latency_ms", {}).get("p99")
    return float("inf") if p99 is None else float(p99)


def rounds(doc: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every run, by workload point and target, in the order they ran."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for run in doc["runs"]:
        groups.setdefault(point_key(run), {}).setdefault(label(run), []).append(run)
    return groups


def chosen(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round that stands for a (point, target): the median by p99 (by RSS per socket for
    idle), a real run rather than a blend; the only one without ``--repeat``."""
    return sorted(runs, key=_rank_value)[(len(runs) - 1) // 2]


def chosen_runs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [chosen(runs) for by_target in rounds(doc).values() for runs in by_target.values()]


def hub_inside(run: dict[str, Any]) -> str | None:
    """The hub's own view of a point: commit time and event-loop lag, from its /metrics."""
    inside = run.get("hub_metrics") or {}
    commit, lag = inside.get("commit_ms"), inside.get("loop_lag_ms")
    if not commit and not lag:
        return None
    parts = []
    if commit:
        parts.append(
            f"commit p50 / p99 {commit['p50']:.2f} / {commit['p99']:.2f} ms over {commit['count']} batches"
            f" ({inside.get('messages_per_batch', '-')} msg/batch)"
        )
    if lag:
        parts.append(f"event-loop lag p50 / p99 {lag['p50']:.2f} / {lag['p99']:.2f} ms")
    return "  CareConnect inside, while sending (its /metrics, bucketed): " + "; ".join(parts)


def one_line(run: dict[str, Any]) -> str:
    if "error" in run:
        return f"{label(run)}: ERROR {run['error'][:300]}"
    lat = run.get("delivery_latency_ms", {})
    conns = run.get("connections", {})
    server = run.get("server", {})
    text = (
        f"{label(run)}: {conns.get('open')}/{conns.get('wanted')} conns, sent {run.get('sent')}, "
        f"delivered {run.get('delivered')}/{run.get('expected_deliveries')} ({run.get('deliveries_per_s')}/s), "
        f"p50 {_fmt(lat.get('p50'), 2)} p99 {_fmt(lat.get('p99'), 2)} ms, lost {run.get('lost')}, "
        f"dup {run.get('duplicates')}, errors {run.get('errors')}, server CPU {server.get('cpu_percent')}%, "
        f"loadgen CPU {run.get('loadgen_cpu_percent')}%, steal {run.get('steal_percent', '-')}%"
    )
    if "ack_latency_ms" in run:
        text += f", ack p99 {_fmt(run['ack_latency_ms'].get('p99'), 2)} ms"
    if run.get("workload") == "idle":
        text += f", RSS/conn {server.get('rss_kib_per_connection')} KiB"
    if "haproxy_cpu_percent" in run:
        text += f", HAProxy CPU {run['haproxy_cpu_percent']}%"
    return text


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x"


def render(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = [
        "",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}, Python {m['python']}; "
        f"load average at start {m['loadavg_at_start'][0]:.2f}",
        f"command: {doc['command']}",
    ]
    for target, why in doc.get("skipped", {}).items():
        lines.append(f"SKIPPED {target}: {why.splitlines()[0] if why else ''}")
    all_rounds = rounds(doc)
    for key, by_rounds in all_rounds.items():
        by_target = {target: chosen(runs) for target, runs in by_rounds.items()}
        lines.append("")
        lines.append(key)
        idle = key.startswith("idle")
        if idle:
            header = f"{'target':<38}{'open':>7}{'RSS MiB':>9}{'KiB/conn':>10}{'x ceiling':>11}{'connect p99 ms':>16}"
        else:
            header = (
                f"{'target':<38}{'deliv/s':>9}{'x ceil':>8}{'p50 ms':>8}{'p99 ms':>9}{'x ceil':>8}"
                f"{'ack p99':>9}{'lost':>7}{'dup':>5}{'err':>5}{'srv CPU%':>9}{'gen CPU%':>9}{'steal%':>8}"
            )
        lines.append(header)
        ceiling = by_target.get(CEILING, {})
        for target in row_names():
            run = by_target.get(target)
            if run is None:
                continue
            name = display_name(target)
            if "error" in run:
                lines.append(f"{name:<38}ERROR {run['error'].splitlines()[0][:100]}")
                continue
            server = run.get("server", {})
            if idle:
                per = server.get("rss_kib_per_connection")
                lines.append(
                    f"{name:<38}{run['connections']['open']:>7}{_fmt(server.get('rss_mib_connected')):>9}"
                    f"{_fmt(per):>10}{_ratio(per, ceiling.get('server', {}).get('rss_kib_per_connection')):>11}"
                    f"{_fmt(run['connections']['connect_ms'].get('p99')):>16}"
                )
                continue
            lat = run.get("delivery_latency_ms", {})
            clat = ceiling.get("delivery_latency_ms", {})
            errors = sum(run.get("errors", {}).values()) + sum(run["connections"].get("closed_by_server", {}).values())
            lines.append(
                f"{name:<38}{_fmt(run.get('deliveries_per_s'), 0):>9}"
                f"{_ratio(run.get('deliveries_per_s'), ceiling.get('deliveries_per_s')):>8}"
                f"{_fmt(lat.get('p50'), 2):>8}{_fmt(lat.get('p99'), 2):>9}{_ratio(lat.get('p99'), clat.get('p99')):>8}"
                f"{_fmt(run.get('ack_latency_ms', {}).get('p99'), 2):>9}{run.get('lost', '-'):>7}"
                f"{run.get('duplicates', '-'):>5}{errors:>5}{_fmt(server.get('cpu_percent')):>9}"
                f"{_fmt(run.get('loadgen_cpu_percent')):>9}{_fmt(run.get('steal_percent')):>8}"
            )
        hub = by_target.get(HUB)
        if hub and "error" not in hub:
            parts = []
            for peer in ["socketio", "django", "litestar", "ws"]:
                other = by_target.get(peer)
                if not other or "error" in other:
                    continue
                if idle:
                    parts.append(
                        f"{peer}: RSS/conn {_ratio(hub['server'].get('rss_kib_per_connection'), other['server'].get('rss_kib_per_connection'))}"
                    )
                else:
                    parts.append(
                        f"{peer}: deliv/s {_ratio(hub.get('deliveries_per_s'), other.get('deliveries_per_s'))}, "
                        f"p99 {_ratio(hub['delivery_latency_ms'].get('p99'), other['delivery_latency_ms'].get('p99'))}"
                    )
            if parts:
                lines.append("  CareConnect vs " + "; ".join(parts))
            if not idle and (inside := hub_inside(hub)):
                lines.append(inside)
        for row in row_names()[1:]:  # the hub in its other topologies
            run = by_target.get(row)
            if row.startswith(HUB) and run and "error" not in run and not idle and (inside := hub_inside(run)):
                lines.append(inside.replace("CareConnect inside", f"{display_name(row)} inside"))
        if any(len(runs) > 1 for runs in by_rounds.values()):
            lines.append(
                "  each round, in order (the table shows the median): "
                + "; ".join(
                    f"{display_name(target)} "
                    + " / ".join(_fmt(None if v == float("inf") else v, 2) for v in map(_rank_value, runs))
                    for target, runs in by_rounds.items()
                )
                + (" KiB/socket" if idle else " ms p99")
            )
    return "\n".join(lines)
