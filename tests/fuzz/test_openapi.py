"""Schemathesis over the OpenAPI document, as every role: no request gets a 5xx."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.infra import migrate
from tests.live import LiveServer

ROLES = ("anonymous", "patient", "doctor", "admin")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'fuzz.db'}"
    migrate(url)
    server = LiveServer(url, log_path=folder / "server.log", LOG_LEVEL="WARNING").start()
    env = server.env
    subprocess.run([sys.executable, "-m", "careconnect", "seed"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "careconnect",
            "create-admin",
            "--email",
            "fuzz-admin@example.com",
            "--password",
            "careconnect-demo",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    headers = {"anonymous": {}}
    for role, address in (
        ("patient", "patient1@example.com"),
        ("doctor", "doctor1@example.com"),
        ("admin", "fuzz-admin@example.com"),
    ):
        token = httpx.post(
            f"{server.url}/api/v1/auth/login", json={"email": address, "password": "careconnect-demo"}
        ).json()["access_token"]
        headers[role] = {"Authorization": f"Bearer {token}"}
    try:
        yield {"server": server, "headers": headers, "log": folder / "server.log"}
    finally:
        server.stop()
        log = (folder / "server.log").read_text()
        assert "Traceback" not in log, log[-3000:]


def test_no_server_errors(api):
    """Every generated request to every operation, sent as each role, answers below 500.

    (Schemathesis's pytest plugin does not run on pytest 9 yet, so the operations' Hypothesis
    strategies are driven directly.)
    """
    schema = schemathesis.openapi.from_url(f"{api['server'].url}/schema/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def run(case):
            for role in ROLES:
                if case.path == "/api/v1/auth/logout" or case.path.endswith(("/disable", "/password")):
                    role = "anonymous"  # these would end the sessions the other cases run as
                response = case.call(headers=dict(api["headers"][role]))
                if response.status_code >= 500:
                    failures.append(f"{role} {case.method} {case.formatted_path}: {response.status_code}")

        run()
    assert operations >= 25
    assert not failures, "\n".join(failures[:20])
