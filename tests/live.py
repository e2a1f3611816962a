"""Real server processes for end-to-end tests: `careconnect serve` on an ephemeral port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.infra import REPO_ROOT

TEST_SECRET = "live-test-secret-" + "z" * 32


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port no other server of this test run was given (the kernel may offer one twice)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


class LiveServer:
    """One `careconnect serve` process; ``stop()`` and ``kill()`` end it, ``start()`` again restarts it."""

    def __init__(
        self,
        database_url: str,
        *,
        redis_url: str | None = None,
        log_path: Path | None = None,
        port: int | None = None,
        workers: int = 1,
        **env: str,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.workers = workers
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET,
            "CARECONNECT_ENV": "test",
            "COOKIE_SECURE": "false",
            **env,
        }
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        else:
            self.env.pop("REDIS_URL", None)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> LiveServer:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "careconnect", "serve", "--port", str(self.port), "--workers", str(self.workers)],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        if self.log_path:
            log.close()  # the child keeps its own descriptor
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    time.sleep(0.2)
                    if self.process.poll() is not None:  # someone else answered on our port
                        raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_path}")
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer /healthz within {timeout}s")

    def _signal(self, sig: int) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        self._signal(signal.SIGTERM)
        if self.process:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        self._signal(signal.SIGKILL)
        if self.process:
            self.process.wait(10)


@contextlib.contextmanager
def served(folder: Path, database: str = "sqlite", *, redis_db: int | None = None, **env: str) -> Iterator[LiveServer]:
    """A server on a fresh, migrated database: ``sqlite``, a file in ``folder``, or ``postgres``,
    a new PostgreSQL database (dropped afterwards); with Redis database ``redis_db`` of the test
    Redis when given. Its log is in ``folder``; stopped afterwards, whatever it logged must hold
    no traceback. Skips (fails under CI=true) when a service it needs is missing."""
    from tests import infra  # noqa: PLC0415 - this module is imported by tests.infra's users first

    name = None
    if database == "postgres":
        infra.need_postgres()
        url, name = infra.create_postgres_database()
    else:
        url = f"sqlite:///{folder / 'careconnect.db'}"
    redis_url = None
    if redis_db is not None:
        infra.need_redis()
        redis_url = infra.REDIS_URL.rsplit("/", 1)[0] + f"/{redis_db}"
    try:
        infra.migrate(url)
        server = LiveServer(url, redis_url=redis_url, log_path=folder / "server.log", **env).start()
        try:
            yield server
        finally:
            server.stop()
            log = (folder / "server.log").read_text()
            assert "Traceback" not in log, log[-3000:]
    finally:
        if name:
            infra.drop_postgres_database(name)
