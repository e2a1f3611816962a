"""A real coturn ``turnserver`` on loopback for the video tests: its own config, secret and ports.

Like tests/infra.py: a missing ``turnserver`` skips the test with the reason, or fails it under
CI=true, where every service must be present (``apt-get install -y coturn``).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.infra import need

REALM = "careconnect.test"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _relay_range(size: int = 40) -> tuple[int, int]:
    """A run of ports nothing is bound to now (UDP), for the relay allocations."""
    for _ in range(50):
        low = secrets.randbelow(20_000) + 40_000
        try:
            for port in range(low, low + size):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return low, low + size - 1
    raise RuntimeError("no free range of relay ports on loopback")


@dataclass
class Turn:
    url: str  # turn:127.0.0.1:<port>?transport=udp
    secret: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def turnserver_config(port: int, relay: tuple[int, int], secret: str, folder: Path) -> str:
    """The test's turnserver.conf: TURN REST credentials (use-auth-secret), loopback only."""
    return "\n".join(
        [
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"listening-port={port}",
            f"min-port={relay[0]}",
            f"max-port={relay[1]}",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            f"realm={REALM}",
            "fingerprint",
            "no-tls",
            "no-dtls",
            "no-cli",
            "allow-loopback-peers",  # both browsers and their relays are on 127.0.0.1 here
            f"userdb={folder / 'turndb'}",
            f"pidfile={folder / 'turnserver.pid'}",
            f"log-file={folder / 'turn.log'}",
            "simple-log",
            "verbose",
            "",
        ]
    )


@contextmanager
def running_turnserver(folder: Path) -> Iterator[Turn]:
    """Start turnserver with a generated secret and ports of its own; stop it afterwards."""
    binary = shutil.which("turnserver")
    need("coturn's turnserver", binary is not None, "apt-get install -y coturn")
    assert binary is not None
    folder.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(24)
    port = _free_udp_port()
    config = folder / "turnserver.conf"
    config.write_text(turnserver_config(port, _relay_range(), secret, folder))
    log = folder / "turn.log"
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=folder
    )
    try:
        deadline = time.monotonic() + 15
        while "listener opened on" not in (log.read_text(errors="replace") if log.exists() else ""):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"turnserver did not start: {log.read_text(errors='replace')[-2000:] if log.exists() else ''}"
                )
            time.sleep(0.1)
        yield Turn(url=f"turn:127.0.0.1:{port}?transport=udp", secret=secret, log=log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
