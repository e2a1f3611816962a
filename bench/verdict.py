"""The restated speed target (issue 22, docs/benchmarks.md), judged on one ``make bench`` run.

- **Under load**, at every point where any peer saturates or loses messages, the hub is ahead of
  every peer: it delivers more per second, or as much with a lower p99 when neither loses
  anything.
- **At light load** (no peer saturates or loses), the hub's p50 and p99 delivery stay within the
  plain-``websockets`` ceiling's plus the durable-commit floor measured in the same run (the
  store's one-message batch, ``bench/store_append.py``) plus 1 ms.

The floor is measured by ``bench.run`` after the points, on a fresh database of the same
PostgreSQL (``commit_floor``), and kept in the results JSON as ``commit_floor``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import report

PEERS = ("socketio", "django", "litestar")  # what people would pick instead; the ceiling is not one
SLACK_MS = 1.0
SATURATED = 0.95  # a point's deliveries below this share of those expected: the server fell behind


def commit_floor() -> dict[str, float]:
    """The store's one-message batch on a fresh migrated database: p50 and p99 in ms."""
    from tests.infra import migrated_postgres_database

    from bench.store_append import commit_floor as measure

    with migrated_postgres_database() as url:
        return asyncio.run(measure(url))


def struggled(run: dict[str, Any]) -> bool:
    """The server lost messages, failed, or delivered too little of what it was offered."""
    if "error" in run or run.get("lost", 0) > 0:
        return True
    expected = run.get("expected_deliveries") or 0
    return bool(expected) and run.get("delivered", 0) < SATURATED * expected


def ahead(hub: dict[str, Any], peer: dict[str, Any]) -> bool:
    if "error" in peer:
        return "error" not in hub
    if "error" in hub:
        return False
    if struggled(hub) or struggled(peer):
        return hub.get("deliveries_per_s", 0) > peer.get("deliveries_per_s", 0) and hub.get("lost", 0) <= peer.get(
            "lost", 0
        )
    return hub["delivery_latency_ms"].get("p99", float("inf")) <= peer["delivery_latency_ms"].get("p99", float("inf"))


def _within_ceiling(
    hub: dict[str, Any], ceiling: dict[str, Any] | None, floor: dict[str, float] | None
) -> dict[str, Any]:
    """The hub's p50 and p99 and the light-load limits (the ceiling's plus the floor plus 1 ms),
    or nothing when a figure is missing."""
    if ceiling is None or "error" in ceiling or floor is None or "error" in hub:
        return {}
    limit = {q: ceiling["delivery_latency_ms"][q] + floor[f"{q}_ms"] + SLACK_MS for q in ("p50", "p99")}
    return {"hub": {q: hub["delivery_latency_ms"][q] for q in ("p50", "p99")}, "limit": limit}


def judge(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One verdict per delivery point (idle points have no latency target): its kind (``load`` or
    ``light``), whether the target is met, and the figures it was judged on."""
    floor = doc.get("commit_floor")
    verdicts = []
    for key, by_rounds in report.rounds(doc).items():
        if key.startswith("idle"):
            continue
        runs = {target: report.chosen(rs) for target, rs in by_rounds.items()}
        hub = runs.get(report.HUB)
        if hub is None:
            continue
        peers = {name: runs[name] for name in PEERS if name in runs}
        ceiling = runs.get(report.CEILING)
        latency = _within_ceiling(hub, ceiling, floor)
        struggling = [name for name, run in peers.items() if struggled(run)]
        if struggling:
            behind = [name for name, run in peers.items() if not ahead(hub, run)]
            verdicts.append(
                {"point": key, "kind": "load", "met": not behind, "behind": behind, "struggling": struggling, **latency}
            )
        elif "hub" not in latency:
            verdicts.append({"point": key, "kind": "light", "met": None, "why": "no ceiling, floor or hub result"})
        else:
            met = all(latency["hub"][q] <= latency["limit"][q] for q in ("p50", "p99")) and not struggled(hub)
            verdicts.append({"point": key, "kind": "light", "met": met, **latency})
    return verdicts


def render(doc: dict[str, Any]) -> str:
    floor = doc.get("commit_floor")
    lines = ["", "restated target (docs/benchmarks.md):"]
    if floor:
        lines.append(
            f"  durable-commit floor (one-message batch): p50 {floor['p50_ms']:.2f} ms, p99 {floor['p99_ms']:.2f} ms"
        )
    for v in judge(doc):
        mark = {True: "met", False: "NOT met", None: "not judged"}[v["met"]]
        latency = (
            "; ".join(
                f"{q} {v['hub'][q]:.2f} ms (ceiling+floor+1 {v['limit'][q]:.2f}, {v['hub'][q] - v['limit'][q]:+.2f})"
                for q in ("p50", "p99")
            )
            if "hub" in v
            else ""
        )
        if v["kind"] == "load":
            detail = "ahead of every peer" if v["met"] else f"behind {', '.join(v['behind'])}"
            lines.append(
                f"  {v['point']}: under load ({', '.join(v['struggling'])} struggled), {detail}: {mark}"
                + (f"; for reference {latency}" if latency else "")
            )
        elif v["met"] is None:
            lines.append(f"  {v['point']}: light load, {v['why']}")
        else:
            lines.append(f"  {v['point']}: light load, {latency}: {mark}")
    return "\n".join(lines)
