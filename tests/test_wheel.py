"""The wheel deploys without the checkout: built from this tree, installed into a fresh venv
outside the repository (the locked dependencies, from uv's cache), it migrates and serves the web
pages and ``/readyz`` from an empty directory, reading its secret from a ``_FILE`` and the rest from
a ``.env`` there."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.infra import REPO_ROOT, need
from tests.live import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def uv() -> str:
    found = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    need("uv", Path(found).exists(), "make installs it into .tools/ (make test)")
    return found


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_migrates_and_serves_from_any_directory(tmp_path: Path) -> None:
    tool = uv()
    assert (REPO_ROOT / "web" / "out" / "index.html").is_file(), "make test builds the web first"
    dist, venv, site = tmp_path / "dist", tmp_path / "venv", tmp_path / "site"
    # The server and the workspace's hub client (packages/careconnect-client, a dependency), as wheels.
    run(tool, "build", "--all-packages", "--wheel", "--out-dir", dist, cwd=REPO_ROOT)
    (wheel,) = dist.glob("careconnect-*.whl")
    (client_wheel,) = dist.glob("careconnect_client-*.whl")
    requirements = tmp_path / "requirements.txt"
    run(tool, "export", "--frozen", "--no-dev", "--no-emit-workspace", "--no-hashes", "-o", requirements, cwd=REPO_ROOT)
    pinned = requirements.read_text().splitlines()
    assert not [line for line in pinned if line.startswith(("-e", "./", "careconnect"))], "the wheels bring those"
    run(tool, "venv", "--quiet", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(tool, "pip", "install", "--quiet", "--python", python, "-r", requirements, wheel, client_wheel, cwd=tmp_path)
    run(python, "-c", "import careconnect_client, careconnect.client", cwd=tmp_path)

    site.mkdir()
    (site / "secret").write_text("w" * 40 + "\n")
    (site / ".env").write_text("CARECONNECT_ENV=test\nLOG_JSON=true\n")
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SECRET_KEY_FILE": str(site / "secret"),
        "UV_NO_CONFIG": "1",
    }
    careconnect = venv / "bin" / "careconnect"
    run(careconnect, "migrate", cwd=site, env=env)
    assert (site / "var" / "careconnect.db").is_file()  # the home is where it runs, not the checkout

    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(careconnect), "serve", "--port", str(port)], cwd=site, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the installed server did not start"
                time.sleep(0.3)
        assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok", ready.text
        page = httpx.get(f"{base}/login", timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "/_next/" in page.text  # the packed web build, not a placeholder
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    served = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in served
    json_lines = [line for line in served.splitlines() if line.startswith('{"ts"')]
    assert json_lines, served  # LOG_JSON from the .env in the directory it ran in
    assert "color_message" not in served and "\\u001b" not in served  # uvicorn's colour copy left out
    assert not any(str(REPO_ROOT) in line for line in served.splitlines() if "site-packages" not in line)
    assert os.path.isdir(venv / "lib")
