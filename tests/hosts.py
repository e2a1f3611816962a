"""Two "hosts" on this machine, as network namespaces behind Debian's HAProxy (issue 22).

Each host is a network namespace joined to the root one by a veth pair (10.<n>.<i>.1 on the
root side, 10.<n>.<i>.2 inside) and runs ``careconnect serve --workers 2`` on its own address.
HAProxy, in the root namespace, is the load balancer (WebSocket-aware, health checks on
``/readyz``, round robin, no stickiness) on 127.0.0.1, and also carries each host's PostgreSQL
and Redis connections to the root namespace's servers, which listen on loopback only.

Needs root (``ip netns``) and haproxy; skips with the reason, or fails under CI=true.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET
from tests.infra import REPO_ROOT, need
from tests.live import free_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
APP_PORT = 8000


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Host:
    name: str  # the namespace
    address: str  # the app's address inside it
    gateway: str  # the root side of its veth
    folder: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{APP_PORT}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.address}:{APP_PORT}/ws"

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        command = [sys.executable, "-m", "careconnect", "serve", "--host", self.address, "--port", str(APP_PORT)]
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.name, *command, "--workers", "2"],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes every worker
        )
        log.close()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process is not None and self.process.poll() is None, self.log_text()[-3000:]
            assert time.monotonic() < deadline, f"{self.name} did not become ready: {self.log_text()[-3000:]}"
            time.sleep(0.3)

    def kill(self) -> None:
        """The host dies: every worker gets SIGKILL at once."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log_text(self) -> str:
        log = self.folder / "server.log"
        return log.read_text(errors="replace") if log.exists() else ""


@dataclass
class Topology:
    url: str  # HAProxy's frontend
    hosts: list[Host] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"


def haproxy_config(port: int, hosts: list[Host], folder: Path) -> str:
    gateways = [h.gateway for h in hosts]
    lines = [
        "global",
        "    maxconn 4000",
        f"    pidfile {folder / 'haproxy.pid'}",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout tunnel 1h",  # a WebSocket, once upgraded
        "    retries 3",
        "    option redispatch",  # a connection refused by a dead host goes to the other
        "frontend web",
        f"    bind 127.0.0.1:{port}",
        "    default_backend hosts",
        "backend hosts",
        "    balance roundrobin",
        "    option httpchk GET /readyz",
        "    http-check expect status 200",
        "    default-server inter 500ms fall 2 rise 2",
        *[f"    server {h.name} {h.address}:{APP_PORT} check" for h in hosts],
        "listen postgres",
        "    mode tcp",
        *[f"    bind {g}:5432" for g in gateways],
        "    timeout client 1h",
        "    timeout server 1h",
        "    server pg 127.0.0.1:5432",
        "listen redis",
        "    mode tcp",
        *[f"    bind {g}:6379" for g in gateways],
        "    timeout client 1h",
        "    timeout server 1h",
        "    server redis 127.0.0.1:6379",
        "",
    ]
    return "\n".join(lines)


@contextmanager
def two_hosts(database: str, redis_db: int, folder: Path, **env: str) -> Iterator[Topology]:
    """Two hosts (``--workers 2`` each) for PostgreSQL database ``database`` and Redis database
    ``redis_db``, behind HAProxy; everything is removed afterwards."""
    need("ip netns (root)", os.geteuid() == 0 and shutil.which("ip") is not None, "run as root with iproute2")
    need("haproxy", Path(HAPROXY).exists(), "apt-get install -y haproxy")
    tag = secrets.token_hex(2)
    net = 100 + secrets.randbelow(150)
    hosts: list[Host] = []
    made: list[str] = []
    haproxy: subprocess.Popen[bytes] | None = None
    try:
        for i in (1, 2):
            name = f"cc{tag}h{i}"
            outside, inside = f"{name}a", f"{name}b"
            gateway, address = f"10.{net}.{i}.1", f"10.{net}.{i}.2"
            _ip("netns", "add", name)
            made.append(name)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", name)
            _ip("addr", "add", f"{gateway}/24", "dev", outside)
            _ip("link", "set", outside, "up")
            _ip("-n", name, "addr", "add", f"{address}/24", "dev", inside)
            _ip("-n", name, "link", "set", inside, "up")
            _ip("-n", name, "link", "set", "lo", "up")
            home = folder / name
            (home / "mail").mkdir(parents=True)
            host_env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
                "DATABASE_URL": f"postgresql://postgres@{gateway}:5432/{database}",
                "REDIS_URL": f"redis://{gateway}:6379/{redis_db}",
                "SECRET_KEY": TEST_SECRET,
                "CARECONNECT_ENV": "test",
                "COOKIE_SECURE": "false",
                "MAIL_DIR": str(home / "mail"),
                "PROMETHEUS_MULTIPROC_DIR": str(home / "metrics"),
                **env,
            }
            hosts.append(Host(name=name, address=address, gateway=gateway, folder=home, env=host_env))
        port = free_port()
        config = folder / "haproxy.cfg"
        config.write_text(haproxy_config(port, hosts, folder))
        with (folder / "haproxy.log").open("wb") as log:
            haproxy = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
        for host in hosts:
            host.start()
        for host in hosts:
            host.wait_ready()
        topology = Topology(url=f"http://127.0.0.1:{port}", hosts=hosts)
        deadline = time.monotonic() + 20
        while True:  # HAProxy has seen both hosts healthy
            try:
                if httpx.get(f"{topology.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert haproxy.poll() is None, (folder / "haproxy.log").read_text()
            assert time.monotonic() < deadline, (folder / "haproxy.log").read_text()
            time.sleep(0.3)
        yield topology
    finally:
        for host in hosts:
            host.stop()
        if haproxy is not None:
            haproxy.terminate()
            haproxy.wait(timeout=10)
        for name in made:
            subprocess.run(["ip", "link", "del", f"{name}a"], capture_output=True, timeout=10)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
