"""A room as seen by one worker: its local members and in-order delivery by seq.

Messages reach a worker from its own writer and, for other workers' messages, from the
broker. ``LocalRoom`` delivers them strictly in seq order: a frame whose seq jumps ahead
waits in ``pending`` while the hub fills the gap from the message store, so a lost or
reordered broker frame never shows as a gap or a duplicate to members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from careconnect.hub.connection import Connection
    from careconnect.hub.encoding import Outgoing
    from careconnect.hub.protocol import UserRef


class LocalRoom:
    __slots__ = (
        "catch_up_pending",
        "catching",
        "filling",
        "joining",
        "known_online",
        "last_seq",
        "members",
        "name",
        "pending",
        "ready",
        "refs",
        "users",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.members: dict[Connection, None] = {}
        # Sockets mid-join: live frames wait here until their replay has been sent.
        self.joining: dict[Connection, list[tuple[int, Outgoing]]] = {}
        # Sockets whose replay went further than this worker has delivered: seq floor per socket.
        self.catching: dict[Connection, int] = {}
        self.users: dict[str, int] = {}  # user id -> local connections joined
        self.last_seq = 0
        self.ready = False  # last_seq known (read from the store after subscribing)
        self.pending: dict[int, Outgoing] = {}
        self.filling = False
        self.catch_up_pending = False  # a catch-up was asked for before the room was ready
        self.known_online: set[str] = set()
        self.refs: dict[str, UserRef] = {}  # members' names, for presence frames

    def empty(self) -> bool:
        return not self.members and not self.joining and not self.catching

    def admit(self, connection: Connection, replayed_to: int) -> None:
        """A joining socket got its replay up to ``replayed_to``: from now on it gets live frames."""
        if replayed_to > self.last_seq:
            self.catching[connection] = replayed_to
        else:
            self.members[connection] = None

    def remove(self, connection: Connection) -> bool:
        """Take a socket out; True if it was in the room."""
        found = connection in self.members or connection in self.catching or connection in self.joining
        self.members.pop(connection, None)
        self.catching.pop(connection, None)
        self.joining.pop(connection, None)
        return found

    def fan_out(self, frame: Outgoing, seq: int = 0) -> int:
        """Queue ``frame`` for every local member; returns how many got it."""
        delivered = 0
        for connection in self.members:
            if connection.enqueue(frame):
                delivered += 1
        if seq:
            for buffered in self.joining.values():
                buffered.append((seq, frame))
            if self.catching:
                for connection, floor in list(self.catching.items()):
                    if seq > floor:
                        del self.catching[connection]
                        self.members[connection] = None
                        if connection.enqueue(frame):
                            delivered += 1
        return delivered

    def deliver(self, ready: list[tuple[int, Outgoing]]) -> int:
        """Fan out the frames ``accept`` or ``set_ready`` released, in seq order (the one loop for
        stored messages, live or read back); returns how many sockets got a frame, counted once each."""
        delivered = 0
        for seq, frame in ready:
            delivered += self.fan_out(frame, seq)
        return delivered

    def accept(self, seq: int, frame: Outgoing) -> list[tuple[int, Outgoing]]:
        """Take a message frame; return the frames now deliverable in seq order."""
        if not self.ready:
            self.pending[seq] = frame
            return []
        if seq <= self.last_seq:
            return []
        self.pending[seq] = frame
        ready = []
        while (nxt := self.pending.pop(self.last_seq + 1, None)) is not None:
            self.last_seq += 1
            ready.append((self.last_seq, nxt))
        return ready

    def has_gap(self) -> bool:
        return bool(self.pending)

    def set_ready(self, last_seq: int) -> list[tuple[int, Outgoing]]:
        """The store says the room is at ``last_seq``: drop older pending, deliver what follows."""
        self.ready = True
        self.last_seq = max(self.last_seq, last_seq)
        for seq in [s for s in self.pending if s <= self.last_seq]:
            del self.pending[seq]
        ready = []
        while (nxt := self.pending.pop(self.last_seq + 1, None)) is not None:
            self.last_seq += 1
            ready.append((self.last_seq, nxt))
        return ready
