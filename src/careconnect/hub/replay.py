"""Reading stored messages back into live delivery: join with ``since``, gap fills, catch-up.

The join seam: a joining socket is registered in the room's join buffer *before* anything is
read from the store, so every live frame delivered meanwhile is kept. The replay is then
streamed page by page through the socket's bounded queue (waiting while it is half full, so
a long history never overflows it), and finally the buffered live frames above the last
replayed seq follow. No gap, no duplicate, whichever worker the client lands on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from careconnect.hub.encoding import Outgoing, encode_json
from careconnect.hub.protocol import Error, Joined, Member, message_frame
from careconnect.hub.store import StoredMessage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from careconnect.hub.config import HubSettings, HubStats
    from careconnect.hub.connection import Connection
    from careconnect.hub.policy import RoomInfo
    from careconnect.hub.presence import PresenceManager
    from careconnect.hub.rooms import LocalRoom
    from careconnect.hub.store import MessageStore

log = logging.getLogger("careconnect.hub.replay")


class ReplayHost(Protocol):
    """What the replay needs of its hub (``Hub`` is one): the store and presence, the settings and
    counters, and this worker's room entries."""

    @property
    def settings(self) -> HubSettings: ...
    @property
    def stats(self) -> HubStats: ...
    @property
    def store(self) -> MessageStore: ...
    @property
    def presence(self) -> PresenceManager: ...
    @property
    def rooms(self) -> Mapping[str, LocalRoom]: ...

    async def open_room(self, name: str) -> LocalRoom:
        """This worker's entry for ``name``, subscribed and with its last seq known."""
        ...

    async def close_room_if_empty(self, room: LocalRoom) -> None: ...

    async def presence_join(self, room: LocalRoom, connection: Connection) -> None:
        """Record a joined socket (and tell the room if its user just came online)."""
        ...


class Replay:
    def __init__(self, hub: ReplayHost) -> None:
        self.hub = hub

    def _frame(self, stored: StoredMessage) -> Outgoing:
        return Outgoing(encode_json(message_frame(stored)))

    # -- join -------------------------------------------------------------------------------
    async def join(self, connection: Connection, room_name: str, since: int, info: RoomInfo) -> None:
        """Send ``joined``, the replay after ``since`` (or the last N), then live traffic.

        Raises when the store is unavailable before ``joined`` was sent; a socket that was
        already in the room stays in it.
        """
        hub = self.hub
        settings = hub.settings
        room = await hub.open_room(room_name)
        for ref in info.members:
            room.refs[ref.id] = ref
        was_member = connection in room.members or connection in room.catching
        floor = room.catching.get(connection, room.last_seq)
        room.remove(connection)
        buffered: list[tuple[int, Outgoing]] = []
        room.joining[connection] = buffered
        connection.rooms.add(room_name)
        try:
            end = await hub.store.last_seq(room_name)
            if since > end:  # the client is ahead of the store (up to 2^53): nothing to read
                page = []
            elif since > 0:
                page = await hub.store.read_after(room_name, since, settings.replay_page)
            else:
                page = await hub.store.read_last(room_name, settings.replay_default)
        except BaseException:
            if room.joining.get(connection) is buffered:
                del room.joining[connection]
                if was_member:
                    self._admit(room, connection, floor, buffered)
                else:
                    connection.rooms.discard(room_name)
                    await hub.close_room_if_empty(room)
            raise
        if hub.rooms.get(room_name) is not room:  # another join's open of this entry failed meanwhile
            room.joining.pop(connection, None)
            connection.rooms.discard(room_name)
            raise ConnectionError(f"the room {room_name} could not be opened")
        if not was_member:
            await hub.presence_join(room, connection)
        try:
            online = await hub.presence.online(room_name)
        except Exception as exc:  # noqa: BLE001 - presence is best effort
            log.warning("presence lookup failed: %s", type(exc).__name__)
            online = set()
        if room.joining.get(connection) is not buffered:
            return  # evicted or disconnected meanwhile
        last_seq = max(end, room.last_seq, page[-1].seq if page else 0)
        members = [Member(id=m.id, role=m.role, name=m.name, online=m.id in online) for m in info.members]
        joined = Joined(room=room_name, last_seq=last_seq, state=info.state, members=members)
        connection.enqueue(Outgoing(encode_json(joined)))
        # A `since` beyond the room's end (client state from a reset database) must not hold
        # back live traffic: the socket counts as having seen the room's end.
        sent = min(since, last_seq)
        try:
            while page:
                for stored in page:
                    if stored.seq > sent:
                        await connection.put(self._frame(stored))
                        sent = stored.seq
                if since <= 0 or len(page) < settings.replay_page or connection.closed:
                    break
                page = await hub.store.read_after(room_name, sent, settings.replay_page)
        except Exception as exc:  # noqa: BLE001 - store failed mid-replay: the client sees a gap and re-joins
            log.warning("replay of %s interrupted: %s", room_name, type(exc).__name__)
            error = Error(code="internal", message="history interrupted: re-join with since", room=room_name)
            connection.enqueue(Outgoing(encode_json(error)))
        if room.joining.get(connection) is not buffered:
            return
        del room.joining[connection]
        self._admit(room, connection, sent, buffered)

    @staticmethod
    def _admit(room: LocalRoom, connection: Connection, sent: int, buffered: list[tuple[int, Outgoing]]) -> None:
        for seq, live in buffered:
            if seq > sent:
                connection.enqueue(live)
                sent = seq
        room.admit(connection, sent)

    # -- gaps and outages -------------------------------------------------------------------
    async def fill_gap(self, room: LocalRoom) -> None:
        """A seq is missing (a broker frame lost or late): read it from the store."""
        hub = self.hub
        try:
            await asyncio.sleep(0.05)  # late frames usually arrive on their own
            while room.has_gap() and hub.rooms.get(room.name) is room:
                read = await self.read_missing(room)
                if read is None:
                    await asyncio.sleep(1.0)
                elif read == 0:
                    break
        finally:
            room.filling = False

    async def read_missing(self, room: LocalRoom) -> int | None:
        """Deliver a page of what the store has after the room's last delivered seq.

        Returns how many messages were read, or None when the store failed.
        """
        hub = self.hub
        try:
            missing = await hub.store.read_after(room.name, room.last_seq, hub.settings.replay_page)
        except Exception as exc:  # noqa: BLE001 - store down: the caller retries
            log.warning("reading missed messages of %s failed: %s", room.name, type(exc).__name__)
            return None
        if missing:
            hub.stats.gap_fills += 1
        for stored in missing:
            hub.stats.deliveries += room.deliver(room.accept(stored.seq, self._frame(stored)))
        return len(missing)

    async def catch_up(self, room: LocalRoom) -> None:
        """After a broker outage: deliver what this room missed, page by page."""
        while self.hub.rooms.get(room.name) is room:
            read = await self.read_missing(room)
            if read is None or read < self.hub.settings.replay_page:
                return  # caught up (or the store is down too: the next gap fill retries)
