"""The restated speed target's judgement of a bench run (``bench/verdict.py``), on made-up runs:
the figures are invented, so this checks the rule, never the machine's speed."""

from __future__ import annotations

from typing import Any

from bench import verdict


def run(target: str, p50: float, p99: float, *, lost: int = 0, delivered: int = 1000, rooms: int = 100) -> dict:
    return {
        "target": target,
        "workload": "clinic",
        "params": {"rooms": rooms, "member_rate": 2},
        "expected_deliveries": 1000,
        "delivered": delivered,
        "deliveries_per_s": delivered / 10,
        "lost": lost,
        "delivery_latency_ms": {"p50": p50, "p99": p99},
        "round": 1,
    }


def doc(*runs: dict[str, Any]) -> dict[str, Any]:
    return {"runs": list(runs), "commit_floor": {"p50_ms": 0.7, "p99_ms": 5.0}}


def test_light_load_is_judged_against_the_ceiling_plus_the_floor_plus_one_ms():
    met = doc(run("careconnect", 2.0, 10.0), run("ws", 0.4, 4.0), run("litestar", 1.0, 2.0))
    [v] = verdict.judge(met)
    assert (v["kind"], v["met"]) == ("light", True)  # 2.0 <= 0.4 + 0.7 + 1; 10.0 <= 4 + 5 + 1
    assert v["limit"] == {"p50": 0.4 + 0.7 + 1, "p99": 4.0 + 5.0 + 1}
    slow = doc(run("careconnect", 2.0, 10.2), run("ws", 0.4, 4.0), run("litestar", 1.0, 2.0))
    [v] = verdict.judge(slow)
    assert v["met"] is False
    assert "+0.20" in verdict.render(slow) and "NOT met" in verdict.render(slow)
    no_floor = {"runs": met["runs"]}
    assert verdict.judge(no_floor)[0]["met"] is None


def test_under_load_the_hub_must_be_ahead_of_every_peer():
    # Django loses messages here, so the point is "under load"; the hub out-delivers it, but
    # Litestar keeps up with a lower p99: the hub is behind Litestar.
    point = doc(
        run("careconnect", 2.0, 10.0),
        run("django", 500, 1300, lost=400, delivered=600),
        run("litestar", 1.0, 2.0),
        run("ws", 0.4, 1.0),
    )
    [v] = verdict.judge(point)
    assert (v["kind"], v["met"], v["behind"], v["struggling"]) == ("load", False, ["litestar"], ["django"])
    ahead = doc(run("careconnect", 20.0, 150.0), run("socketio", 7000, 13000, lost=70000, delivered=50))
    [v] = verdict.judge(ahead)
    assert (v["kind"], v["met"]) == ("load", True)
    # A hub that loses more than a struggling peer is not ahead of it, whatever its latency.
    lossy = doc(
        run("careconnect", 1.0, 2.0, lost=500, delivered=400), run("socketio", 7000, 13000, lost=100, delivered=900)
    )
    assert verdict.judge(lossy)[0]["met"] is False


def test_a_peer_that_fails_to_run_counts_as_struggling():
    failed = {
        "target": "django",
        "workload": "clinic",
        "params": {"rooms": 100, "member_rate": 2},
        "error": "boom",
        "round": 1,
    }
    point = doc(run("careconnect", 2.0, 10.0), failed)
    [v] = verdict.judge(point)
    assert (v["kind"], v["met"]) == ("load", True)
