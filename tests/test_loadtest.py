"""The load toolkit: a small `careconnect loadtest` run against a real server (nothing lost, nothing
doubled), the generator against an in-process hub, the delivery check and rooms files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request

import pytest

from careconnect.hub import HubSettings
from careconnect.loadtest.driver import Tally, delivery_check, run
from careconnect.loadtest.members import HubTarget, Member
from careconnect.loadtest.rooms import Consultation, Person, RoomSpec, read_rooms_file, write_rooms_file
from careconnect.loadtest.workload import Workload
from tests.helpers import metric
from tests.hub.harness import serve_hub
from tests.infra import REDIS_URL, REPO_ROOT, migrate, need_redis
from tests.live import TEST_SECRET, LiveServer


def test_clinic_loadtest_delivers_everything_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'load.db'}"
    migrate(url)
    server = LiveServer(url, log_path=tmp_path / "server.log").start()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "careconnect",
                "loadtest",
                "--url",
                server.url,
                "--workload",
                "clinic",
                "--rooms",
                "8",
                "--member-rate",
                "1",
                "--duration",
                "4",
                "--json",
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        metrics = _scrape(server.url)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["connections"] == 16 and report["sent"] >= 16
    assert report["acked"] == report["sent"]
    check = report["delivery_check"]
    assert check == {"checked": check["checked"], "lost": 0, "duplicated": 0, "out_of_order": 0}
    assert check["checked"] == 2 * report["acked"]
    assert report["delivered"] == 2 * report["acked"]
    # The group-commit counters: every stored message was in one committed batch.
    assert metric(metrics, "careconnect_hub_commit_messages_total") == report["acked"]
    assert 1 <= metric(metrics, "careconnect_hub_commit_batches_total") <= report["acked"]
    # Each committed batch's time is in the commit histogram; the loop-lag timer ran meanwhile.
    assert metric(metrics, "careconnect_hub_commit_seconds_count") == metric(
        metrics, "careconnect_hub_commit_batches_total"
    )
    assert metric(metrics, "careconnect_hub_commit_seconds_bucket", le="+Inf") == metric(
        metrics, "careconnect_hub_commit_seconds_count"
    )
    assert 0 < metric(metrics, "careconnect_hub_commit_seconds_sum") < 60
    assert metric(metrics, "careconnect_event_loop_lag_seconds_count") > 0


@pytest.mark.cluster  # several servers or workers: make test-cluster
def test_loadtest_spreads_its_members_over_two_servers_and_checks_every_delivery_across_them(tmp_path):
    """Two servers of one deployment (one SQLite file, one Redis): ``--url`` twice (and as a comma
    list) spreads the sockets and the setup's API calls round-robin, so the two members of each
    room sit on different servers and every delivery the check counts crossed between them."""
    need_redis()
    url = f"sqlite:///{tmp_path / 'load.db'}"
    migrate(url)
    servers = [LiveServer(url, redis_url=REDIS_URL, log_path=tmp_path / f"server{i}.log").start() for i in (1, 2)]
    try:
        command = [sys.executable, "-m", "careconnect", "loadtest", "--url", servers[0].url, "--url", servers[1].url]
        command += ["--workload", "clinic", "--rooms", "4", "--member-rate", "1", "--duration", "3", "--json"]
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
        listed = [*command[:5], f"{servers[0].url},{servers[1].url}", *command[8:]]
        again = subprocess.run(listed, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
        scraped = [_scrape(s.url) for s in servers]
    finally:
        for server in servers:
            server.stop()
    reports = []
    for done in (result, again):
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        reports.append(json.loads(done.stdout[done.stdout.index("{") :]))
    for report in reports:
        assert report["connections_per_url"] == {servers[0].url: 4, servers[1].url: 4}
        assert report["connections"] == 8 and report["acked"] == report["sent"] >= 8
        check = report["delivery_check"]
        assert check == {"checked": 2 * report["acked"], "lost": 0, "duplicated": 0, "out_of_order": 0}
        assert report["delivered"] == 2 * report["acked"]
    # Each server stored the messages sent through its sockets: both took a share of the load.
    stored = [metric(text, "careconnect_hub_commit_messages_total") for text in scraped]
    assert all(n > 0 for n in stored) and sum(stored) == sum(r["acked"] for r in reports)


def _scrape(base: str) -> str:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        return str(response.read().decode())


async def test_the_generator_counts_a_broadcast_once_per_member_and_times_it():
    async with serve_hub(settings=HubSettings(maintenance_s=0.1, revalidate_s=0.2, send_limit=1000)) as served:
        alice = served.auth.add("alice", "patient")
        bob = served.auth.add("bob", "doctor")
        served.rooms.add("consultation:c1", [("alice", "patient"), ("bob", "doctor")])
        target = HubTarget(served.url, [RoomSpec(room="consultation:c1", tokens=[alice, bob])])
        room_of = {target.room_name(0): 0}
        tally = Tally()
        workload = Workload(kind="broadcast", members=6, rate=30.0, duration=1.0, settle=0.1, drain=10.0)
        result, members = await run(workload, target, room_of, tally)
    assert result["target"] == "careconnect" and result["params"] == {
        "members": 6,
        "rate": 30.0,
        "duration": 1.0,
        "body_size": 100,
        "drain": 10.0,
    }
    assert result["connections"]["open"] == 6 and result["connections"]["failed"] == 0
    assert result["sent"] == result["acked"] == 30 and result["unacked"] == 0
    assert result["delivered"] == result["expected_deliveries"] == 6 * 30
    assert result["lost"] == result["duplicates"] == 0 and result["errors"] == {}
    for latency in (result["delivery_latency_ms"], result["ack_latency_ms"]):
        assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"] < 10_000
    check = delivery_check(tally, members, room_of)
    assert check == {"checked": 6 * 30, "lost": 0, "duplicated": 0, "out_of_order": 0}


def test_the_delivery_check_counts_a_lost_a_doubled_and_an_out_of_order_message():
    tally = Tally("run")
    room_of = {"consultation:a": 0, "consultation:b": 1}
    alice, bob = Member(None, "consultation:a", 0), Member(None, "consultation:a", 1)  # no socket needed
    carol = Member(None, "consultation:b", 0)
    ids = [tally.new_message(0) for _ in range(3)]
    for msg_id in ids:
        tally.on_ack(msg_id, 1)
    for msg_id in ids:
        tally.on_message(alice, msg_id, "0 x", 2)
    tally.on_message(bob, ids[0], "0 x", 2)
    tally.on_message(bob, ids[0], "0 x", 3)  # the same message twice
    tally.on_message(bob, "earlier.7", "0 x", 3)  # another run's, replayed: not counted
    bob.out_of_order = 1  # as the hub target counts a seq not above the one before
    # bob never got ids[1] or ids[2]; carol's room had no messages
    check = delivery_check(tally, [alice, bob, carol], room_of)
    assert check == {"checked": 6, "lost": 2, "duplicated": 1, "out_of_order": 1}
    assert tally.foreign == 1 and tally.delivered == 4


def test_a_rooms_file_round_trips_and_the_older_bare_list_still_reads(tmp_path):
    people = [Person(id=f"u{i}", email=f"u{i}@example.com", token=f"token-{i}") for i in range(2)]
    opened = [Consultation(id="a1", patient=people[0], doctor=people[1])]
    write_rooms_file(tmp_path / "rooms.json", opened)
    assert json.loads((tmp_path / "rooms.json").read_text()) == {
        "rooms": [{"room": "consultation:a1", "tokens": ["token-0", "token-1"]}]
    }
    assert read_rooms_file(tmp_path / "rooms.json") == [RoomSpec(room="consultation:a1", tokens=["token-0", "token-1"])]
    (tmp_path / "old.json").write_text(json.dumps([{"room": "consultation:b2", "tokens": ["p", "d"]}]))
    assert read_rooms_file(tmp_path / "old.json") == [RoomSpec(room="consultation:b2", tokens=["p", "d"])]


def test_the_workloads_lay_out_their_members_and_rates():
    assert Workload(kind="broadcast", members=3, rate=9.0).layout() == ([(0, 0), (0, 1), (0, 2)], 9.0)
    assert Workload(kind="clinic", rooms=2, member_rate=1.5).layout() == ([(0, 0), (0, 1), (1, 0), (1, 1)], 6.0)
    assert Workload(kind="idle", connections=3).layout() == ([(0, 0), (0, 1), (1, 0)], 0.0)
    assert Workload(kind="idle", connections=1001).room_count() == 501
    assert Workload(kind="idle", connections=1001).rooms_to_open() == 100
    assert Workload(kind="clinic", rooms=7).rooms_to_open() == 7


def test_loadtest_approves_its_doctors_with_an_admin_and_cleans_up_after_itself(tmp_path):
    """Against a server that vets doctors: an admin approves the load's doctors; --cleanup then
    completes every consultation and disables every account the run made."""
    url = f"sqlite:///{tmp_path / 'load.db'}"
    migrate(url)
    env = {**os.environ, "DATABASE_URL": url, "CARECONNECT_ENV": "test", "SECRET_KEY": TEST_SECRET}
    env["CARECONNECT_ADMIN_PASSWORD"] = "load-admin-password-1"
    made = subprocess.run(
        [sys.executable, "-m", "careconnect", "create-admin", "--email", "ops@example.com"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    server = LiveServer(url, log_path=tmp_path / "server.log", DOCTOR_REGISTRATION="review").start()
    try:
        command = [sys.executable, "-m", "careconnect", "loadtest", "--url", server.url, "--workload", "clinic"]
        command += ["--rooms", "3", "--member-rate", "1", "--duration", "2", "--json"]
        refused = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert refused.returncode == 2 and "--admin-email" in refused.stderr  # vetted doctors, no admin
        result = subprocess.run(
            [*command, "--admin-email", "ops@example.com", "--cleanup"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["delivery_check"]["lost"] == 0 and report["cleaned_up_accounts"] == 6
    with sqlite3.connect(tmp_path / "load.db") as db:
        people = db.execute("SELECT email, disabled_at FROM cc_user WHERE email LIKE 'load-%'").fetchall()
        visits = db.execute("SELECT status FROM cc_appointment").fetchall()
    disabled = [email for email, at in people if at is not None]
    left = [email for email, at in people if at is None]
    assert len(disabled) == 6 and len({email.split("-")[1] for email in disabled}) == 1  # the one run's six
    assert all("-d" in email for email in left)  # doctors the refused run signed up before it stopped
    assert sorted(status for (status,) in visits) == ["completed"] * 3
