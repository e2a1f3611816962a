"""A small `careconnect loadtest` run against a real server: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from tests.infra import REPO_ROOT, migrate
from tests.live import LiveServer


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
                "--rate",
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
        metrics = _metrics(server.url)
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
    assert metrics["careconnect_hub_commit_messages_total"] == report["acked"]
    assert 1 <= metrics["careconnect_hub_commit_batches_total"] <= report["acked"]
    # Each committed batch's time is in the commit histogram; the loop-lag timer ran meanwhile.
    assert metrics["careconnect_hub_commit_seconds_count"] == metrics["careconnect_hub_commit_batches_total"]
    assert (
        metrics['careconnect_hub_commit_seconds_bucket{le="+Inf"}'] == metrics["careconnect_hub_commit_seconds_count"]
    )
    assert 0 < metrics["careconnect_hub_commit_seconds_sum"] < 60
    assert metrics["careconnect_event_loop_lag_seconds_count"] > 0


def _metrics(base: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        name: float(value)
        for name, _, value in (
            line.rpartition(" ")
            for line in text.splitlines()
            if line.startswith(("careconnect_hub", "careconnect_event"))
        )
    }
