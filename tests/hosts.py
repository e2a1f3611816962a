"""Two "hosts" on this machine, as network namespaces behind Debian's HAProxy (issue 22).

The topology itself is ``bench.netns`` (shared with ``make bench --topology two-hosts``): each
host a network namespace on a veth pair running ``careconnect serve --workers 2``, HAProxy in
the root namespace in front (WebSocket-aware, health checks on ``/readyz``, round robin, no
stickiness) and carrying each host's PostgreSQL and Redis connections to the root namespace's
servers (the test Redis: ``TEST_REDIS_URL``).

Needs root (``ip netns``) and haproxy; skips with the reason, or fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from bench.netns import APP_PORT, HAPROXY, Host, Topology, haproxy_config
from bench.netns import two_hosts as _two_hosts

from tests.conftest import TEST_SECRET
from tests.infra import REDIS_URL, need

__all__ = ["APP_PORT", "HAPROXY", "Host", "Topology", "haproxy_config", "two_hosts"]


@contextmanager
def two_hosts(database: str, redis_db: int, folder: Path, **env: str) -> Iterator[Topology]:
    """Two hosts (``--workers 2`` each) for PostgreSQL database ``database`` and Redis database
    ``redis_db`` of the test Redis, behind HAProxy; everything is removed afterwards."""
    need("ip netns (root)", os.geteuid() == 0 and shutil.which("ip") is not None, "run as root with iproute2")
    need("haproxy", Path(HAPROXY).exists(), "apt-get install -y haproxy")
    redis = urlparse(REDIS_URL)
    with _two_hosts(
        database,
        redis_db,
        folder,
        secret=TEST_SECRET,
        env=env,
        redis=(redis.hostname or "127.0.0.1", redis.port or 6379),
    ) as topology:
        yield topology
