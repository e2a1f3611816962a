"""A PostgreSQL primary and its streaming replica of our own, for the read-replica tests.

``initdb`` makes a primary in a temporary folder (``wal_level=replica``, a ``replication`` line
in its ``pg_hba.conf``, loopback only, on a free port); ``pg_basebackup -R`` copies it into a
second folder, which starts as a hot standby on another free port. Both are stopped and
removed afterwards. The system PostgreSQL and its configuration are never touched.

Debian's binaries in ``/usr/lib/postgresql/<version>/bin``; PostgreSQL refuses to run as root,
so as root they run as the ``postgres`` user. Skips (fails under CI=true) without them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.infra import need
from tests.live import free_port

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], timeout: float = 60) -> str:
    done = subprocess.run(_as_postgres(command), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command[0]} failed: {done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Node:
    folder: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        log = self.folder.parent / f"{self.folder.name}.log"
        _run([str(BIN / "pg_ctl"), "-D", str(self.folder), "-l", str(log), "-w", "-t", "60", "start"], timeout=90)

    def stop(self, mode: str = "fast") -> None:
        if (self.folder / "postmaster.pid").exists():
            _run([str(BIN / "pg_ctl"), "-D", str(self.folder), "-m", mode, "-w", "-t", "60", "stop"], timeout=90)

    def sql(self, statement: str, database: str = "postgres") -> str:
        """One statement through psql; its unaligned output."""
        return _run(
            [str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
            + ["-v", "ON_ERROR_STOP=1", "-Atc", statement]
        ).strip()


@dataclass
class Pair:
    primary: Node
    replica: Node

    def pause_replay(self) -> None:
        self.replica.sql("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 30
        while self.replica.sql("SELECT pg_get_wal_replay_pause_state()") != "paused":
            assert time.monotonic() < deadline, "the standby did not pause its replay"
            time.sleep(0.05)

    def resume_replay(self) -> None:
        self.replica.sql("SELECT pg_wal_replay_resume()")

    def caught_up(self, timeout: float = 30) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        target = self.primary.sql("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while self.replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") != "t":
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)


def _configure_primary(folder: Path) -> None:
    with (folder / "postgresql.conf").open("a") as conf:
        conf.write(
            "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nwal_level = replica\n"
            "max_wal_senders = 5\nhot_standby = on\nfsync = off\nsynchronous_commit = off\n"
            "full_page_writes = off\nshared_buffers = 32MB\nmax_connections = 60\n"
        )
    with (folder / "pg_hba.conf").open("w") as hba:  # loopback only, trust: a throwaway cluster
        hba.write("host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n")


@contextmanager
def primary_and_replica() -> Iterator[Pair]:
    """A primary and a streaming hot standby of it, on free loopback ports; removed afterwards."""
    need("PostgreSQL server binaries", (BIN / "initdb").exists(), "apt-get install -y postgresql-15")
    root = Path(tempfile.mkdtemp(prefix="cc-pg-replica-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    primary = Node(root / "primary", free_port())
    replica = Node(root / "replica", free_port())
    started: list[Node] = []
    try:
        _run([str(BIN / "initdb"), "-D", str(primary.folder), "-U", "postgres", "-A", "trust", "--no-sync"])
        _configure_primary(primary.folder)
        with (primary.folder / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {primary.port}\n")
        primary.start()
        started.append(primary)
        _run(
            [str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
            + ["-D", str(replica.folder), "-R", "-X", "stream", "--no-sync"],
            timeout=120,
        )
        with (replica.folder / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {replica.port}\n")
        replica.start()
        started.append(replica)
        pair = Pair(primary, replica)
        assert replica.sql("SELECT pg_is_in_recovery()") == "t"
        yield pair
    finally:
        for node in reversed(started):
            with suppress(AssertionError):  # already stopped by the test
                node.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
