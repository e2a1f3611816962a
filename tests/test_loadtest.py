"""A small `careconnect loadtest` run against a real server: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import subprocess
import sys

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
