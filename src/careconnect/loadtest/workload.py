"""The workloads and their flags: the one argparse layer of ``careconnect loadtest`` and ``bench.loadgen``.

  broadcast  1 room x ``--members`` members; ``--rate`` messages/s in total, sent round-robin
             by every member (so each member sends rate/members per second).
  clinic     ``--rooms`` rooms x 2 members; each member sends ``--member-rate`` messages/s.
  idle       ``--connections`` quiet connections (2 per room), held ``--hold`` seconds.

Each front end adds its own flags on top (where the server is, where the report goes).
"""

from __future__ import annotations

import argparse
from typing import Literal, cast

import msgspec

Kind = Literal["broadcast", "clinic", "idle"]
KINDS: tuple[Kind, ...] = ("broadcast", "clinic", "idle")
# What a result's "params" lists for each workload, besides body_size and drain.
PARAMS: dict[Kind, tuple[str, ...]] = {
    "broadcast": ("members", "rate", "duration"),
    "clinic": ("rooms", "member_rate", "duration"),
    "idle": ("connections", "hold"),
}
# Idle connections are spread over at most this many rooms when the rooms are made for the run.
IDLE_ROOMS = 100


class Workload(msgspec.Struct, frozen=True, kw_only=True):
    kind: Kind = "clinic"
    members: int = 200
    rate: float = 50.0
    rooms: int = 100
    member_rate: float = 2.0
    connections: int = 1000
    duration: float = 10.0
    hold: float = 5.0
    settle: float = 1.0
    drain: float = 5.0
    body_size: int = 100
    connect_concurrency: int = 100

    def room_count(self) -> int:
        """The workload's rooms (idle: one per two connections; they may share fewer real rooms)."""
        return {"broadcast": 1, "clinic": self.rooms, "idle": (self.connections + 1) // 2}[self.kind]

    def rooms_to_open(self) -> int:
        """How many consultations a run that makes its own needs."""
        return min(IDLE_ROOMS, self.room_count()) if self.kind == "idle" else self.room_count()

    def layout(self) -> tuple[list[tuple[int, int]], float]:
        """Every (room, member) pair to connect, and the messages/s to send in total."""
        if self.kind == "broadcast":
            return [(0, j) for j in range(self.members)], self.rate
        if self.kind == "clinic":
            return [(r, j) for r in range(self.rooms) for j in range(2)], self.rooms * 2 * self.member_rate
        return [(i // 2, i % 2) for i in range(self.connections)], 0.0

    def params(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in (*PARAMS[self.kind], "body_size", "drain")}


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """The workload flags, shared by every load generator front end."""
    default = Workload()
    parser.add_argument("--workload", choices=KINDS, default=default.kind)
    parser.add_argument("--members", type=int, default=default.members, help="broadcast: members in the one room")
    parser.add_argument(
        "--rate", type=float, default=default.rate, help="broadcast: messages/s in total, round-robin over the members"
    )
    parser.add_argument("--rooms", type=int, default=default.rooms, help="clinic: rooms of 2 members")
    parser.add_argument("--member-rate", type=float, default=default.member_rate, help="clinic: messages/s per member")
    parser.add_argument("--connections", type=int, default=default.connections, help="idle: connections, 2 per room")
    parser.add_argument("--duration", type=float, default=default.duration, help="seconds of sending")
    parser.add_argument("--hold", type=float, default=default.hold, help="idle: seconds to hold the connections")
    parser.add_argument("--settle", type=float, default=default.settle, help="seconds between connecting and sending")
    parser.add_argument("--drain", type=float, default=default.drain, help="seconds to wait for the last deliveries")
    parser.add_argument("--body-size", type=int, default=default.body_size, help="characters per message body")
    parser.add_argument("--connect-concurrency", type=int, default=default.connect_concurrency)
    parser.add_argument(
        "--rooms-file",
        help="CareConnect's rooms and tokens as JSON (careconnect seed --load N --out F, or python -m bench.hub_setup)",
    )
    parser.add_argument(
        "--server-pid",
        type=_pids,
        help="the server process (or a comma list: several hosts), each with its workers, for RSS and CPU from /proc",
    )


def _pids(text: str) -> list[int]:
    try:
        pids = [int(p) for p in text.split(",") if p.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a process id or a comma list of them") from exc
    if not pids:
        raise argparse.ArgumentTypeError("no process id")
    return pids


def workload_from_args(args: argparse.Namespace) -> Workload:
    return Workload(
        kind=cast(Kind, args.workload),
        members=args.members,
        rate=args.rate,
        rooms=args.rooms,
        member_rate=args.member_rate,
        connections=args.connections,
        duration=args.duration,
        hold=args.hold,
        settle=args.settle,
        drain=args.drain,
        body_size=args.body_size,
        connect_concurrency=args.connect_concurrency,
    )
