"""A real Redis Cluster on loopback: three primaries and three replicas from Debian's
``redis-server``, made with ``redis-cli --cluster create``; stopped and removed after the test.

``kill_primary_of(key)`` SIGKILLs the primary that owns a key's slot; its replica takes over
after ``cluster-node-timeout``. Skips without redis-server / redis-cli, fails under CI=true.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.infra import need

SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
NODE_TIMEOUT_MS = 1500


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def node_ports(count: int) -> list[int]:
    """Ports for the nodes whose cluster bus ports (port + 10000) are free too (so below 55536)."""
    ports: list[int] = []
    while len(ports) < count:
        port = 20_000 + secrets.randbelow(20_000)
        if port not in ports and port + 10_000 not in ports and _free(port) and _free(port + 10_000):
            ports.append(port)
    return ports


def cli(port: int, *args: str) -> str:
    done = subprocess.run([CLI, "-p", str(port), *args], capture_output=True, text=True, timeout=30)
    return done.stdout


@dataclass
class Cluster:
    ports: list[int]
    folder: Path
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """A startup node; the client learns the others from it."""
        alive = [p for p, proc in self.processes.items() if proc.poll() is None]
        return f"redis://127.0.0.1:{alive[0]}/0"

    def primary_of(self, key: str) -> int:
        slot = int(cli(self._any_alive(), "cluster", "keyslot", key).strip())
        for line in cli(self._any_alive(), "cluster", "nodes").splitlines():
            parts = line.split()
            if "master" in parts[2] and "fail" not in parts[2]:
                for ranges in parts[8:]:
                    low, _, high = ranges.partition("-")
                    if low.isdigit() and int(low) <= slot <= int(high or low):
                        return int(parts[1].split("@")[0].rsplit(":", 1)[1])
        raise AssertionError(f"no primary owns slot {slot}")

    def kill(self, port: int) -> None:
        process = self.processes[port]
        process.kill()
        process.wait(timeout=10)

    def wait_failover(self, key: str, dead: int, timeout: float = 30) -> int:
        """Wait until a replica owns ``key``'s slot instead of the killed ``dead``; its port."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                now = self.primary_of(key)
            except AssertionError:  # the slot is between owners for a moment
                now = dead
            if now != dead and "cluster_state:ok" in cli(now, "cluster", "info"):
                return now
            assert time.monotonic() < deadline, cli(self._any_alive(), "cluster", "nodes")
            time.sleep(0.2)

    def _any_alive(self) -> int:
        return next(p for p, proc in self.processes.items() if proc.poll() is None)

    def wait_ok(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            alive = [p for p, proc in self.processes.items() if proc.poll() is None]
            if all("cluster_state:ok" in cli(p, "cluster", "info") for p in alive):
                return
            assert time.monotonic() < deadline, cli(alive[0], "cluster", "nodes")
            time.sleep(0.2)


@contextmanager
def redis_cluster() -> Iterator[Cluster]:
    need("redis-server", Path(SERVER).exists() and Path(CLI).exists(), "apt-get install -y redis-server")
    folder = Path(tempfile.mkdtemp(prefix="cc-redis-cluster-"))
    ports = node_ports(6)
    cluster = Cluster(ports=ports, folder=folder)
    try:
        for port in ports:
            node = folder / str(port)
            node.mkdir()
            cluster.processes[port] = subprocess.Popen(
                [
                    SERVER,
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", str(node / "nodes.conf"),
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(node),
                    "--logfile", str(node / "redis.log"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        for port in ports:
            deadline = time.monotonic() + 15
            while cli(port, "ping").strip() != "PONG":
                assert time.monotonic() < deadline, f"redis {port} did not start"
                time.sleep(0.1)
        made = subprocess.run(
            [
                CLI,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        cluster.wait_ok()
        yield cluster
    finally:
        for process in cluster.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
