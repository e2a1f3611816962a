"""Two "hosts" on this machine as network namespaces behind Debian's HAProxy: the topology the
host-kill test (``tests/hosts.py``, ``tests/e2e/test_hosts.py``) and ``make bench
--topology two-hosts`` both run (issue 22).

Each host is a network namespace joined to the root one by a veth pair (10.<n>.<i>.1 on the
root side, 10.<n>.<i>.2 inside) and runs ``careconnect serve --workers N`` on its own address.
HAProxy, in the root namespace, is the load balancer (WebSocket-aware, health checks on
``/readyz``, round robin, no stickiness) on 127.0.0.1, and also carries each host's PostgreSQL
and Redis connections to the root namespace's servers, which listen on loopback only. The load
generator stays in the root namespace: through HAProxy, or straight to each host's address.

Needs root (``ip netns``) and haproxy (``available()`` says why not). Everything made is
removed when the block ends, however it ends.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
APP_PORT = 8000


class TopologyError(RuntimeError):
    """A host or HAProxy did not come up; the message carries the tail of its log."""


def available() -> str | None:
    """Why the topology cannot be made here, or None when it can."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "ip netns needs root and iproute2"
    if not Path(HAPROXY).exists():
        return "no haproxy (apt-get install -y haproxy)"
    return None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Host:
    name: str  # the namespace
    address: str  # the app's address inside it
    gateway: str  # the root side of its veth
    folder: Path
    env: dict[str, str]
    workers: int = 2
    python: str = sys.executable
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{APP_PORT}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.address}:{APP_PORT}/ws"

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        command = [self.python, "-m", "careconnect", "serve", "--host", self.address, "--port", str(APP_PORT)]
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.name, *command, "--workers", str(self.workers)],
            env=self.env,
            cwd=REPO,
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
            if self.process is None or self.process.poll() is not None:
                raise TopologyError(f"{self.name} exited: {self.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TopologyError(f"{self.name} did not become ready: {self.log_text()[-3000:]}")
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
    haproxy: subprocess.Popen[bytes] | None = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"


def haproxy_config(
    port: int,
    hosts: list[Host],
    folder: Path,
    *,
    postgres: tuple[str, int] = ("127.0.0.1", 5432),
    redis: tuple[str, int] = ("127.0.0.1", 6379),
    maxconn: int = 4000,
) -> str:
    """HAProxy's configuration: the web frontend on 127.0.0.1:``port`` over the hosts, and on each
    host's gateway the PostgreSQL (5432) and Redis (6379) ports, carried to ``postgres`` and ``redis``.
    HAProxy needs two descriptors per connection (``maxconn``) and refuses to start when the
    process's hard limit is below that."""
    gateways = [h.gateway for h in hosts]
    lines = [
        "global",
        f"    maxconn {maxconn}",
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
        f"    server pg {postgres[0]}:{postgres[1]}",
        "listen redis",
        "    mode tcp",
        *[f"    bind {g}:6379" for g in gateways],
        "    timeout client 1h",
        "    timeout server 1h",
        f"    server redis {redis[0]}:{redis[1]}",
        "",
    ]
    return "\n".join(lines)


def _wait_for_haproxy(haproxy: subprocess.Popen[bytes], addresses: list[tuple[str, int]], log: Path) -> None:
    """Until HAProxy listens on every host's gateway (the hosts' first connection is PostgreSQL's)."""
    import socket

    deadline = time.monotonic() + 15
    waiting = list(addresses)
    while waiting:
        if haproxy.poll() is not None or time.monotonic() > deadline:
            raise TopologyError(f"HAProxy did not start: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(waiting[0], timeout=0.5):
                waiting.pop(0)
        except OSError:
            time.sleep(0.1)


@contextmanager
def two_hosts(
    database: str,
    redis_db: int,
    folder: Path,
    *,
    secret: str,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    hosts: int = 2,
    postgres: tuple[str, int] = ("127.0.0.1", 5432),
    redis: tuple[str, int] = ("127.0.0.1", 6379),
    python: str = sys.executable,
    maxconn: int = 4000,
) -> Iterator[Topology]:
    """``hosts`` hosts (``--workers workers`` each) for PostgreSQL database ``database`` and Redis
    database ``redis_db`` (the root namespace's servers at ``postgres`` and ``redis``), behind
    HAProxy; every process, veth and namespace is removed afterwards, on every way out."""
    why = available()
    if why:
        raise TopologyError(why)
    tag = secrets.token_hex(2)
    net = 100 + secrets.randbelow(150)
    made_hosts: list[Host] = []
    made: list[str] = []
    topology = Topology(url="")
    try:
        for i in range(1, hosts + 1):
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
                "SECRET_KEY": secret,
                "CARECONNECT_ENV": "test",
                "COOKIE_SECURE": "false",
                "MAIL_DIR": str(home / "mail"),
                "PROMETHEUS_MULTIPROC_DIR": str(home / "metrics"),
                **(env or {}),
            }
            made_hosts.append(
                Host(
                    name=name,
                    address=address,
                    gateway=gateway,
                    folder=home,
                    env=host_env,
                    workers=workers,
                    python=python,
                )
            )
        port = free_port()
        config = folder / "haproxy.cfg"
        config.write_text(haproxy_config(port, made_hosts, folder, postgres=postgres, redis=redis, maxconn=maxconn))
        with (folder / "haproxy.log").open("wb") as log:
            topology.haproxy = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        _wait_for_haproxy(topology.haproxy, [(h.gateway, 5432) for h in made_hosts], folder / "haproxy.log")
        for host in made_hosts:
            host.start()
        for host in made_hosts:
            host.wait_ready()
        topology.url = f"http://127.0.0.1:{port}"
        topology.hosts = made_hosts
        deadline = time.monotonic() + 20
        while True:  # HAProxy has seen the hosts healthy
            try:
                if httpx.get(f"{topology.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if topology.haproxy.poll() is not None or time.monotonic() > deadline:
                raise TopologyError(f"HAProxy did not come up: {(folder / 'haproxy.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield topology
    finally:
        for host in made_hosts:
            try:
                host.stop()
            except Exception:  # noqa: BLE001 - cleanup goes on to the next host and the namespaces
                host.kill()
        if topology.haproxy is not None and topology.haproxy.poll() is None:
            topology.haproxy.terminate()
            try:
                topology.haproxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                topology.haproxy.kill()
                topology.haproxy.wait(timeout=5)
        for name in made:
            subprocess.run(["ip", "link", "del", f"{name}a"], capture_output=True, timeout=10)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
