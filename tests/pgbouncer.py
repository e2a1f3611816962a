"""A real PgBouncer (Debian's ``pgbouncer``) on loopback in transaction mode, in front of the
test PostgreSQL: its own config, port and folder; stopped after the test.

PgBouncer refuses to run as root, so as root it runs as the ``postgres`` user (whose folder it
needs to read). A missing ``pgbouncer`` skips the test with the reason, or fails it under
CI=true (``apt-get install -y pgbouncer``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from tests.infra import need
from tests.live import free_port

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@dataclass
class Bouncer:
    port: int
    folder: Path

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def log_text(self) -> str:
        log = self.folder / "pgbouncer.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def show(self, what: str) -> str:
        """``SHOW <what>`` on the admin console (``pgbouncer`` database)."""
        done = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "pgbouncer",
                "-Atc",
                f"SHOW {what}",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


def config(port: int, backend: str, databases: list[str], folder: Path, pool_size: int) -> str:
    target = urlparse(backend)
    lines = ["[databases]"]
    for name in databases:
        lines.append(f"{name} = host={target.hostname} port={target.port or 5432} dbname={name} user=postgres")
    lines += [
        "",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "auth_type = trust",
        f"auth_file = {folder / 'users.txt'}",
        "admin_users = postgres",
        "pool_mode = transaction",
        f"default_pool_size = {pool_size}",
        "max_client_conn = 500",
        f"logfile = {folder / 'pgbouncer.log'}",
        f"pidfile = {folder / 'pgbouncer.pid'}",
        "ignore_startup_parameters = extra_float_digits",
        "",
    ]
    return "\n".join(lines)


@contextmanager
def pgbouncer(backend: str, databases: list[str], *, pool_size: int = 4) -> Iterator[Bouncer]:
    """PgBouncer in transaction mode for ``databases`` on ``backend`` (a PostgreSQL URL), with
    at most ``pool_size`` server connections per database."""
    need("pgbouncer", Path(BINARY).exists(), "apt-get install -y pgbouncer")
    folder = Path(tempfile.mkdtemp(prefix="cc-pgbouncer-"))
    folder.chmod(0o777)  # the postgres user writes its log and pid here
    port = free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(config(port, backend, databases, folder, pool_size))
    command = [BINARY, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in folder.iterdir():
            os.chown(path, user.pw_uid, user.pw_gid)
        command = ["runuser", "-u", "postgres", "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    bouncer = Bouncer(port=port, folder=folder)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, (
                    f"pgbouncer exited: {process.stderr.read() if process.stderr else ''} {bouncer.log_text()}"
                )
                assert time.monotonic() < deadline, "pgbouncer did not start: " + bouncer.log_text()
                time.sleep(0.1)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
        shutil.rmtree(folder, ignore_errors=True)
