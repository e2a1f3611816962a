"""Run every workload against every target in one go: ``make bench`` (``python -m bench.run``).

Each target's server is started fresh for each workload point (one worker, on 127.0.0.1),
driven by ``bench.loadgen`` in its own process, and stopped. CareConnect can also run in other
topologies (``--topology``, a comma list, each a row of its own): ``two-workers`` (``serve
--workers 2`` on one port), ``two-hosts`` (two network namespaces each running ``serve
--workers 2``, HAProxy in front, as ``bench.netns`` makes them for the host-kill test; the load
generator in the root namespace goes through HAProxy) and ``two-hosts-direct`` (the same hosts,
the load generator's members spread over the two hosts' own addresses, no HAProxy on the path).
Namespaces, HAProxy and servers are removed after each point, and on every way out. Results go to
``bench/results/<timestamp>.json``, the latency-vs-load plot beside it as a PNG, and a table
with ratios to the ceiling and between the hub and each peer is printed.

The peers run from ``bench/.venv-peers`` (made by bench/setup.sh when missing). CareConnect is
started as ``.venv/bin/python -m careconnect serve`` on a fresh PostgreSQL database, after
``careconnect migrate``, with its rooms opened in the database (``careconnect seed --load``; ``bench.hub_setup`` makes them through the REST API instead).
A target whose server does not start is skipped with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import netns, report, verdict

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PEERS_PY = BENCH / ".venv-peers" / "bin" / "python"
MAIN_PY = Path(sys.executable)
RESULTS = BENCH / "results"
REUSE_FILE = RESULTS / "hub-reuse.json"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
HUB_REDIS_URL = os.environ.get("BENCH_HUB_REDIS_URL", "redis://127.0.0.1:6379/1")
PEER_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")

# name -> (module under bench.peers, loadgen target kind, URL path)
PEERS = {
    "ws": ("ws_ceiling", "ws", "/ws"),
    "litestar": ("litestar_channels", "litestar", "/ws"),
    "django": ("django_channels", "django", "/ws"),
    "socketio": ("socketio_redis", "socketio", ""),
}
ALL_TARGETS = ["careconnect", "socketio", "django", "litestar", "ws"]
CEILING = "ws"


class SkipTarget(RuntimeError):
    """The target's server could not be prepared or started; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> dict[str, Any]:
    model = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "?")
        with open("/proc/meminfo") as fh:
            mem_kb = int(next(line.split()[1] for line in fh if line.startswith("MemTotal:")))
    except OSError:
        mem_kb = 0
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": list(os.getloadavg()),
    }


class Server:
    """One server process on 127.0.0.1, its output kept in a log file."""

    topology = "one"

    def __init__(self, argv: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> None:
        if "--workers" in argv:
            self.topology = "two-workers"
        self.port = port
        self.log = log
        self.fh = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=self.fh, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SkipTarget(f"server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SkipTarget(f"server did not listen on port {self.port} within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        self.fh.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def ws_urls(self, path: str) -> list[str]:
        return [f"ws://127.0.0.1:{self.port}{path}"]

    def pids(self) -> list[int]:
        return [self.proc.pid]

    def metrics_urls(self) -> list[str]:
        return []  # the loadgen's default: beside its one URL

    def side_pids(self) -> dict[str, int]:
        return {}  # processes on the path that are not the server (HAProxy)

    def exit_code(self) -> int | None:
        return self.proc.poll()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.fh.close()


class Hub:
    """CareConnect: a fresh PostgreSQL database, migrations, and rooms opened in the database."""

    def __init__(self, run_dir: Path, args: argparse.Namespace) -> None:
        self.run_dir = run_dir
        self.args = args
        self.db = f"careconnect_bench_{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}_{secrets.token_hex(2)}"
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        self.env = dict(
            os.environ,
            DATABASE_URL=f"{base}/{self.db}",
            REDIS_URL=HUB_REDIS_URL,
            SECRET_KEY=secrets.token_urlsafe(48),
            CARECONNECT_ENV="test",
            ACCESS_TOKEN_MINUTES="240",
            LOG_LEVEL="WARNING",
            WS_SEND_LIMIT=str(args.hub_send_limit),
        )
        # bench/ab.sh: an earlier commit's src/ for the hub's own processes (server, migrate,
        # seed), never for the load generator, which is this tree's
        if os.environ.get("HUB_PYTHONPATH"):
            self.env["PYTHONPATH"] = os.environ["HUB_PYTHONPATH"]
        self.rooms_file = run_dir / "hub-rooms.json"
        self.ready = False
        self.reused = False

    def reuse(self, rooms: int) -> bool:
        """Take the database and rooms of an earlier ``--reuse-rooms`` run, if it has enough and is fresh."""
        try:
            cache = json.loads(REUSE_FILE.read_text())
        except (OSError, ValueError):
            return False
        fresh = time.time() - cache["made"] < 3 * 3600  # the access tokens live 4 hours
        if not fresh or cache["rooms"] < rooms or not Path(cache["rooms_file"]).exists():
            return False
        self.db = cache["db"]
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        self.env.update(DATABASE_URL=f"{base}/{self.db}", SECRET_KEY=cache["secret"])
        self.rooms_file = Path(cache["rooms_file"])
        self.ready = self.reused = True
        print(f"bench: careconnect: reusing {cache['rooms']} rooms in {self.db}", file=sys.stderr)
        return True

    def remember(self, rooms: int) -> None:
        try:  # the database this one replaces (too few rooms, or too old) is dropped
            old = json.loads(REUSE_FILE.read_text())
        except (OSError, ValueError):
            old = None
        if old and old.get("db") != self.db:
            try:
                asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{old["db"]}" WITH (FORCE)'))
            except Exception as exc:  # noqa: BLE001 - cleanup: report it and go on with the next
                print(f"bench: could not drop {old['db']}: {exc}", file=sys.stderr)
            Path(old.get("rooms_file", "")).unlink(missing_ok=True)
        keep = REUSE_FILE.parent / f"hub-rooms-{self.db}.json"
        keep.write_text(self.rooms_file.read_text())
        REUSE_FILE.write_text(
            json.dumps(
                {
                    "db": self.db,
                    "secret": self.env["SECRET_KEY"],
                    "rooms": rooms,
                    "rooms_file": str(keep),
                    "made": time.time(),
                }
            )
        )

    async def _admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def prepare(self, rooms: int) -> None:
        try:
            asyncio.run(self._admin(f'CREATE DATABASE "{self.db}"'))
        except Exception as exc:
            raise SkipTarget(f"cannot create PostgreSQL database {self.db} via {PG_ADMIN_URL}: {exc}") from exc
        migrate = subprocess.run(
            [str(MAIN_PY), "-m", "careconnect", "migrate"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if migrate.returncode != 0:
            raise SkipTarget(f"careconnect migrate failed:\n{(migrate.stdout + migrate.stderr)[-1500:]}")
        # The rooms are written straight into the tables (``careconnect seed --load``: a doctor
        # and a patient each, the visit in progress, fresh access tokens), not made through the
        # API as ``bench.hub_setup`` does: 1,000 rooms took over 30 minutes that way under load,
        # and the timed points only need them open. 1,000 take 3-6 minutes here.
        print(f"bench: careconnect: opening {rooms} consultation rooms in the database …", file=sys.stderr)
        started = time.perf_counter()
        made = subprocess.run(
            [str(MAIN_PY), "-m", "careconnect", "seed", "--load", str(rooms), "--out", str(self.rooms_file)],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if made.returncode != 0:
            raise SkipTarget(f"careconnect seed --load failed: {(made.stdout + made.stderr)[-1500:]}")
        print(f"bench: careconnect: {rooms} rooms in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        self.ready = True

    def start(self, topology: str = "one") -> Server | Hosts:
        # Flush the earlier points' WAL now, so no checkpoint's writes (the timed ones come 5 min
        # apart) compete with this point's commits: the store is the only target that writes.
        asyncio.run(self._admin("CHECKPOINT"))
        if topology in ("two-hosts", "two-hosts-direct"):
            folder = self.run_dir / f"{topology}-{secrets.token_hex(3)}"
            return Hosts(self, folder, direct=topology == "two-hosts-direct")
        port = free_port()
        workers = ["--workers", "2"] if topology == "two-workers" else []
        server = Server(
            [str(MAIN_PY), "-m", "careconnect", "serve", "--port", str(port), *workers],
            port,
            self.run_dir / "careconnect.log",
            self.env,
        )
        server.wait_ready(60)
        return server

    def drop(self) -> None:
        try:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'))
        except Exception as exc:  # noqa: BLE001 - cleanup: report it, the results are kept
            print(f"bench: could not drop {self.db}: {exc}", file=sys.stderr)


class Hosts:
    """Two hosts (network namespaces, ``serve --workers 2`` each) behind HAProxy (``bench.netns``)
    for the hub's database; ``direct`` spreads the members over the hosts' own addresses instead."""

    def __init__(self, hub: Hub, folder: Path, *, direct: bool) -> None:
        from contextlib import ExitStack
        from urllib.parse import urlparse

        self.topology = "two-hosts-direct" if direct else "two-hosts"
        self.direct = direct
        redis = urlparse(HUB_REDIS_URL)
        postgres = urlparse(PG_ADMIN_URL)
        folder.mkdir(parents=True)
        keep = ("ACCESS_TOKEN_MINUTES", "LOG_LEVEL", "WS_SEND_LIMIT", "CARECONNECT_ENV", "PYTHONPATH")
        self.stack = ExitStack()
        try:
            self.net = self.stack.enter_context(
                netns.two_hosts(
                    hub.db,
                    int((redis.path or "/0").lstrip("/") or 0),
                    folder,
                    secret=hub.env["SECRET_KEY"],
                    # four workers on the one PostgreSQL: 4 × 16 connections stay under its 100
                    env={**{k: hub.env[k] for k in keep if k in hub.env}, "DATABASE_POOL_SIZE": "16"},
                    postgres=(postgres.hostname or "127.0.0.1", postgres.port or 5432),
                    redis=(redis.hostname or "127.0.0.1", redis.port or 6379),
                    python=str(MAIN_PY),
                    # each proxied socket is two descriptors; HAProxy refuses a maxconn over the limit
                    maxconn=max(1000, min(10000, (resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 200) // 2)),
                )
            )
        except netns.TopologyError as exc:
            self.stack.close()
            raise SkipTarget(f"the two-host topology did not come up: {exc}") from exc
        except BaseException:
            self.stack.close()
            raise

    def ws_urls(self, path: str) -> list[str]:
        return [h.ws_url for h in self.net.hosts] if self.direct else [self.net.ws_url]

    def pids(self) -> list[int]:
        return [h.process.pid for h in self.net.hosts if h.process is not None]

    def metrics_urls(self) -> list[str]:
        return [f"{h.url}/metrics" for h in self.net.hosts]  # each host's workers, summed

    def side_pids(self) -> dict[str, int]:
        return {"haproxy": self.net.haproxy.pid} if self.net.haproxy is not None else {}

    def exit_code(self) -> int | None:
        for host in self.net.hosts:
            if host.process is not None and host.process.poll() is not None:
                return host.process.returncode
        return None

    def stop(self) -> None:
        self.stack.close()


def start_peer(name: str, run_dir: Path, args: argparse.Namespace) -> Server:
    module = PEERS[name][0]
    port = free_port()
    argv = [str(PEERS_PY), "-m", f"bench.peers.{module}", "--port", str(port), "--redis-url", PEER_REDIS_URL]
    if name == "django" and args.django_layer != "core":
        argv += ["--layer", args.django_layer]
    server = Server(argv, port, run_dir / f"{name}.log")
    server.wait_ready(30)
    return server


def points(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """Every (workload, loadgen arguments) pair of this run, in order."""
    common = ["--drain", str(args.drain), "--body-size", str(args.body_size)]
    out: list[tuple[str, list[str]]] = []
    if "idle" in args.workloads:
        for n in args.idle_connections:
            out.append(
                ("idle", ["--workload", "idle", "--connections", str(n), "--hold", str(args.idle_hold), *common])
            )
    if "broadcast" in args.workloads:
        for rate in args.broadcast_rates:
            out.append(
                (
                    "broadcast",
                    [
                        "--workload",
                        "broadcast",
                        "--members",
                        str(args.broadcast_members),
                        "--rate",
                        str(rate),
                        "--duration",
                        str(args.duration),
                        *common,
                    ],
                )
            )
    if "clinic" in args.workloads:
        for rooms in args.clinic_rooms:
            out.append(
                (
                    "clinic",
                    [
                        "--workload",
                        "clinic",
                        "--rooms",
                        str(rooms),
                        "--member-rate",
                        str(args.clinic_member_rate),
                        "--duration",
                        str(args.duration),
                        *common,
                    ],
                )
            )
    return out


def params_of(loadgen_args: list[str]) -> dict[str, float]:
    """A point's parameters from its loadgen arguments (``--member-rate 2.0`` is ``member_rate``),
    for a run that failed before the loadgen wrote its own: the report still files it under its point."""
    out: dict[str, float] = {}
    for flag, value in zip(loadgen_args, loadgen_args[1:], strict=False):
        if flag.startswith("--"):
            try:
                out[flag[2:].replace("-", "_")] = float(value)
            except ValueError:
                continue
    return out


def run_point(target: str, start: Any, loadgen_args: list[str], run_dir: Path, extra: list[str]) -> dict[str, Any]:
    from careconnect.loadtest.stats import read_proc

    server = start()
    try:
        kind, path = ("careconnect", "/ws") if target == "careconnect" else (PEERS[target][1], PEERS[target][2])
        out = run_dir / f"{target}-{secrets.token_hex(3)}.json"
        argv = [str(MAIN_PY), "-m", "bench.loadgen", "--target", kind]
        for url in server.ws_urls(path):
            argv += ["--url", url]
        for url in server.metrics_urls():
            argv += ["--metrics-url", url]
        argv += ["--server-pid", ",".join(map(str, server.pids())), "--json-out", str(out), *loadgen_args, *extra]
        side0 = {name: read_proc(pid) for name, pid in server.side_pids().items()}
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=900)
        wall = time.perf_counter() - t0
        side1 = {name: read_proc(pid) for name, pid in server.side_pids().items()}
        if done.returncode != 0 or not out.exists():
            return {"target": target, "error": f"loadgen exited {done.returncode}: {done.stderr[-1000:]}"}
        result: dict[str, Any] = json.loads(out.read_text())
        out.unlink()
        result["topology"] = server.topology
        for name, before in side0.items():  # over the whole loadgen run: connecting, sending, draining
            after = side1.get(name, {})
            if before and after:
                result[f"{name}_cpu_percent"] = round(100 * (after["cpu_s"] - before["cpu_s"]) / wall, 1)
        if (code := server.exit_code()) is not None:
            result["server_died"] = code
        return result
    finally:
        server.stop()


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=",".join(ALL_TARGETS), help=f"comma list of {', '.join(ALL_TARGETS)}")
    parser.add_argument("--workloads", default="idle,broadcast,clinic", help="comma list of idle, broadcast, clinic")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending per point")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait for late deliveries")
    parser.add_argument("--body-size", type=int, default=100)
    parser.add_argument("--broadcast-members", type=int, default=200)
    parser.add_argument(
        "--broadcast-rates", type=floats, default=[50.0, 200.0, 400.0], help="messages/s in total, the load sweep"
    )
    parser.add_argument("--clinic-rooms", type=ints, default=[100, 1000], help="rooms of 2 members, e.g. 100,500,1000")
    parser.add_argument("--clinic-member-rate", type=float, default=2.0, help="messages/s per member")
    parser.add_argument("--idle-connections", type=ints, default=[1000, 10000])
    parser.add_argument("--idle-hold", type=float, default=5.0)
    parser.add_argument("--django-layer", choices=["core", "pubsub"], default="core")
    parser.add_argument(
        "--hub-send-limit",
        type=int,
        default=100_000,
        help="WS_SEND_LIMIT for the hub (sends per 10 s per connection); the peers have no limit",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the hub's benchmark database")
    parser.add_argument(
        "--reuse-rooms",
        action="store_true",
        help="keep the hub's database and rooms for the next --reuse-rooms run (3 hours), or reuse them",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of every point; the tables and the plot show each point's median round",
    )
    parser.add_argument(
        "--topology",
        default="one",
        help=f"CareConnect's topologies, a comma list of {', '.join(report.TOPOLOGIES)} (each its own row); "
        "two-hosts needs root (ip netns) and haproxy. Two cores cannot show scaling: every process shares them",
    )
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    args.topology = [t for t in args.topology.split(",") if t]
    if bad := [t for t in args.topology if t not in report.TOPOLOGIES] or not args.topology:
        parser.error(f"unknown topologies {bad}; choose from {list(report.TOPOLOGIES)}")
    args.targets = [t for t in args.targets.split(",") if t]
    args.workloads = [w for w in args.workloads.split(",") if w]
    unknown = [t for t in args.targets if t not in ALL_TARGETS]
    if unknown:
        parser.error(f"unknown targets {unknown}; choose from {ALL_TARGETS}")
    return args


def ensure_peers_venv() -> None:
    setup = subprocess.run(["bash", str(BENCH / "setup.sh")], cwd=REPO, capture_output=True, text=True)
    if setup.returncode != 0 or not PEERS_PY.exists():
        raise SystemExit(f"bench: bench/setup.sh failed:\n{setup.stdout[-1500:]}{setup.stderr[-1500:]}")


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM and SIGHUP unwind like Ctrl-C, so every finally runs: servers, HAProxy and the
    # hosts' network namespaces are removed and the results file is written on any way out.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupted)
    command = f"{os.path.relpath(MAIN_PY, REPO)} -m bench.run {shlex.join(sys.argv[1:] if argv is None else argv)}"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it: 10k sockets need it
    if any(t != "careconnect" for t in args.targets) or not args.no_plot:
        ensure_peers_venv()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    run_dir = RESULTS / stamp
    run_dir.mkdir()
    plan = points(args)
    doc: dict[str, Any] = {
        "command": command,
        "started": stamp,
        "machine": machine(),
        "config": {k: v for k, v in vars(args).items()},
        "runs": [],
        "skipped": {},
    }
    hub: Hub | None = None
    try:
        starts: dict[str, tuple[Any, list[str]]] = {}  # target -> (start a server, extra loadgen args)
        for target in args.targets:
            if target == "careconnect":
                hub = Hub(run_dir, args)
                needed = max([1, *(args.clinic_rooms if "clinic" in args.workloads else [])])
                if "idle" in args.workloads:  # idle sockets are spread over up to 100 rooms (2 users each)
                    needed = max(needed, min(100, max(args.idle_connections) // 2))
                try:
                    if not (args.reuse_rooms and hub.reuse(needed)):
                        hub.prepare(needed)
                        if args.reuse_rooms:
                            hub.remember(needed)
                except (SkipTarget, subprocess.TimeoutExpired) as exc:
                    doc["skipped"][target] = str(exc)
                    print(f"bench: SKIP careconnect: {exc}", file=sys.stderr)
                    continue
                for topology in args.topology:
                    key = target if topology == "one" else f"{target}@{topology}"
                    starts[key] = (lambda t=topology, h=hub: h.start(t), ["--rooms-file", str(hub.rooms_file)])
            else:
                starts[target] = (lambda name=target: start_peer(name, run_dir, args), [])
        # Point by point, every target in turn: the servers meet the same minutes of the machine
        # (a burst of steal falls on one point, not on one target's whole series).
        for round_ in range(1, args.repeat + 1):
            for workload, loadgen_args in plan:
                for key, (start, extra) in list(starts.items()):
                    target = key.partition("@")[0]
                    print(f"bench: {key} {' '.join(loadgen_args[:6])} …", file=sys.stderr)
                    try:
                        result = run_point(target, start, loadgen_args, run_dir, extra)
                    except SkipTarget as exc:
                        doc["skipped"][key] = str(exc)
                        print(f"bench: SKIP {key}: {exc}", file=sys.stderr)
                        del starts[key]
                        continue
                    result.setdefault("workload", workload)
                    result.setdefault("params", params_of(loadgen_args))  # a failed run has none of its own
                    result["round"] = round_
                    doc["runs"].append(result)
                    print("bench:   " + report.one_line(result), file=sys.stderr)
        if report.HUB in starts and report.CEILING in starts:  # the restated target's floor (bench/verdict.py)
            try:
                doc["commit_floor"] = verdict.commit_floor()
            except Exception as exc:  # noqa: BLE001 - the points are kept; the verdict says it has no floor
                print(f"bench: the durable-commit floor could not be measured: {exc}", file=sys.stderr)
    finally:
        if hub is not None and not args.keep_db and not args.reuse_rooms:
            hub.drop()
        doc["finished"] = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        doc["machine"]["loadavg_at_end"] = list(os.getloadavg())
        out = RESULTS / f"{stamp}.json"
        out.write_text(json.dumps(doc, indent=2))
    png = RESULTS / f"{stamp}.png"
    if not args.no_plot:
        plot = subprocess.run(
            [str(PEERS_PY), "-m", "bench.plot", str(out), str(png)], cwd=REPO, capture_output=True, text=True
        )
        if plot.returncode != 0:
            print(f"bench: plot failed: {plot.stderr[-800:]}", file=sys.stderr)
    print(report.render(doc))
    print(verdict.render(doc))
    print(
        f"\nresults: {os.path.relpath(out, REPO)}" + ("" if args.no_plot else f"   plot: {os.path.relpath(png, REPO)}")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
