"""The hub: this worker's rooms and sockets, durable sends, and fan-out across workers.

A message travels: socket -> ``Session`` (validation, rate limit, room policy) -> the
group-commit writer (the store assigns the seq and commits) -> ack to the sender -> the local
room (``deliver_local``, in seq order) and the broker (``publish``) -> every other worker's
local room. Frames are encoded once; the same bytes go to every member.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import msgspec

from careconnect.hub.brokers.base import Broker
from careconnect.hub.connection import Connection, Outgoing, Overflow
from careconnect.hub.policy import Authenticator, RoomPolicy
from careconnect.hub.presence import PresenceManager
from careconnect.hub.protocol import Frame, Message, Presence, RoomState, UserRef, encode_json, timestamp
from careconnect.hub.rooms import LocalRoom
from careconnect.hub.store import GroupCommitWriter, MessageStore, StoredMessage

log = logging.getLogger("careconnect.hub")

# Broker payloads: b"m|<seq>|<json>" message, b"e||<json>" event, b"s||<json>" room state,
# b"k|<close code>|<user id>" disconnect a user, b"x||<user id>" evict a user from the room.
MESSAGE, EVENT, STATE, KICK, EVICT = b"m", b"e", b"s", b"k", b"x"


class HubSettings(msgspec.Struct, kw_only=True, frozen=True):
    heartbeat_s: int = 25
    hello_timeout_s: float = 10.0
    max_frame_bytes: int = 65_536
    send_limit: int = 20
    send_window_s: float = 10.0
    limited_close_after: int = 5
    queue_size: int = 1000
    max_rooms: int = 100
    replay_default: int = 50
    replay_page: int = 500
    max_body_chars: int = 4000
    revalidate_s: float = 30.0
    maintenance_s: float = 5.0
    presence_sweep_s: float = 10.0


class HubStats(msgspec.Struct, kw_only=True):
    messages_stored: int = 0
    messages_duplicate: int = 0
    deliveries: int = 0
    queue_drops: int = 0
    gap_fills: int = 0
    broker_failures: int = 0
    connections_total: int = 0


def message_frame(stored: StoredMessage) -> Message:
    return Message(
        room=stored.room,
        seq=stored.seq,
        id=stored.client_id,
        sender=UserRef(id=stored.sender_id, role=stored.sender_role, name=stored.sender_name),
        body=stored.body,
        ts=timestamp(stored.created_at),
    )


class Hub:
    def __init__(
        self,
        *,
        authenticator: Authenticator,
        policy: RoomPolicy,
        store: MessageStore,
        broker: Broker,
        presence: PresenceManager,
        settings: HubSettings | None = None,
    ) -> None:
        self.authenticator = authenticator
        self.policy = policy
        self.store = store
        self.broker = broker
        self.presence = presence
        self.settings = settings or HubSettings()
        self.worker_id = broker.worker_id
        self.writer = GroupCommitWriter(store)
        self.rooms: dict[str, LocalRoom] = {}
        self.connections: set[Connection] = set()
        self.by_user: dict[str, set[Connection]] = {}
        self.stats = HubStats()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._maintenance: asyncio.Task[None] | None = None
        self.running = False

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        await self.store.start()
        await self.broker.start(self._from_broker)
        if hasattr(self.broker, "on_reconnect"):
            self.broker.on_reconnect = self.catch_up_all
        self.writer.start()
        self._maintenance = asyncio.create_task(self._maintain(), name="hub-maintenance")
        self.running = True

    async def stop(self, code: int = 1012) -> None:
        """Close every socket with ``code`` (1012: restarting) and release everything."""
        self.running = False
        for connection in list(self.connections):
            connection.close(code, "server restarting")
        await asyncio.gather(*(c.wait_closed(2.0) for c in list(self.connections)), return_exceptions=True)
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        for task in list(self._tasks):
            task.cancel()
        await self.writer.stop()
        await self.broker.stop()
        with contextlib.suppress(Exception):
            await self.presence.close()
        await self.store.close()

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_overflow(self, connection: Connection) -> None:
        self.stats.queue_drops += 1
        log.info("closing slow consumer %s (queue full)", connection.id[:8])

    # -- rooms ------------------------------------------------------------------------------
    async def open_room(self, name: str) -> LocalRoom:
        """This worker's room entry, subscribing to the broker on first use."""
        room = self.rooms.get(name)
        if room is not None:
            return room
        room = LocalRoom(name)
        self.rooms[name] = room
        await self.broker.subscribe(name)
        if name.startswith("user:"):
            room.ready = True
        else:
            ready = room.set_ready(await self.store.last_seq(name))
            self._deliver_ready(room, ready)
        return room

    async def close_room_if_empty(self, room: LocalRoom) -> None:
        if room.empty() and self.rooms.get(room.name) is room:
            del self.rooms[room.name]
            await self.broker.unsubscribe(room.name)

    def _deliver_ready(self, room: LocalRoom, frames: list[tuple[int, Outgoing]]) -> None:
        for seq, frame in frames:
            self.stats.deliveries += room.fan_out(frame, seq)
        if room.has_gap() and not room.filling:
            room.filling = True
            self.spawn(self._fill_gap(room))

    def deliver_message(self, room_name: str, seq: int, frame: Outgoing) -> None:
        """Deliver a stored message to this worker's members, in seq order (``deliver_local``)."""
        room = self.rooms.get(room_name)
        if room is not None:
            self._deliver_ready(room, room.accept(seq, frame))

    async def _fill_gap(self, room: LocalRoom) -> None:
        """A seq is missing (a broker frame lost or late): read it from the store."""
        try:
            await asyncio.sleep(0.05)  # late frames usually arrive on their own
            while room.has_gap() and self.rooms.get(room.name) is room:
                try:
                    missing = await self.store.read_after(room.name, room.last_seq, self.settings.replay_page)
                except Exception as exc:  # noqa: BLE001 - store down: try again shortly
                    log.warning("gap fill for %s failed: %s", room.name, type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                self.stats.gap_fills += 1
                if not missing:
                    break
                for stored in missing:
                    frame = Outgoing(encode_json(message_frame(stored)))
                    for seq, ready in room.accept(stored.seq, frame):
                        self.stats.deliveries += room.fan_out(ready, seq)
        finally:
            room.filling = False

    async def catch_up_all(self) -> None:
        """After a broker outage: deliver whatever every local room missed, from the store."""
        for room in list(self.rooms.values()):
            if not room.name.startswith("user:"):
                self.spawn(self._catch_up(room))

    async def _catch_up(self, room: LocalRoom) -> None:
        while self.rooms.get(room.name) is room:
            try:
                missing = await self.store.read_after(room.name, room.last_seq, self.settings.replay_page)
            except Exception as exc:  # noqa: BLE001 - store down too: the next message fills the gap
                log.warning("catch-up for %s failed: %s", room.name, type(exc).__name__)
                return
            if not missing:
                return
            self.stats.gap_fills += 1
            for stored in missing:
                frame = Outgoing(encode_json(message_frame(stored)))
                for seq, ready in room.accept(stored.seq, frame):
                    self.stats.deliveries += room.fan_out(ready, seq)

    def deliver_event(self, room_name: str, frame: Outgoing, *, skip: Connection | None = None) -> None:
        room = self.rooms.get(room_name)
        if room is None:
            return
        for connection in room.members:
            if connection is not skip and connection.enqueue(frame, Overflow.drop_newest):
                self.stats.deliveries += 1

    # -- publishing -------------------------------------------------------------------------
    async def _publish(self, room: str, kind: bytes, arg: bytes, payload: bytes) -> None:
        if not await self.broker.publish(room, kind + b"|" + arg + b"|" + payload):
            self.stats.broker_failures += 1

    async def publish_message(self, stored: StoredMessage) -> None:
        payload = encode_json(message_frame(stored))
        self.deliver_message(stored.room, stored.seq, Outgoing(payload))
        await self._publish(stored.room, MESSAGE, str(stored.seq).encode(), payload)

    async def publish_event(self, room: str, frame: Frame, *, skip: Connection | None = None) -> None:
        """Push a server event (room_state, appointment, presence...) to a room on every worker."""
        payload = encode_json(frame)
        kind = EVENT
        if isinstance(frame, RoomState):
            self.policy.forget(room)
            kind = STATE
        self.deliver_event(room, Outgoing(payload), skip=skip)
        await self._publish(room, kind, b"", payload)

    async def disconnect_user(self, user_id: str, code: int = 4403) -> None:
        """Close every socket of ``user_id`` on every worker (an admin disabled the account)."""
        self._kick_local(user_id, code)
        await self._publish(f"user:{user_id}", KICK, str(code).encode(), user_id.encode())

    async def evict(self, user_id: str, room: str) -> None:
        """Take ``user_id`` out of ``room`` everywhere (a bot was removed from a consultation)."""
        self.policy.forget(room)
        await self._evict_local(user_id, room)
        await self._publish(room, EVICT, b"", user_id.encode())

    def _kick_local(self, user_id: str, code: int) -> None:
        for connection in list(self.by_user.get(user_id, ())):
            connection.close(code, "account disabled" if code == 4403 else "session ended")

    async def _evict_local(self, user_id: str, room_name: str) -> None:
        from careconnect.hub.protocol import Error

        for connection in list(self.by_user.get(user_id, ())):
            if room_name in connection.rooms:
                await self.leave(connection, room_name)
                connection.enqueue(
                    Outgoing(
                        encode_json(Error(code="forbidden", message="you were removed from the room", room=room_name))
                    )
                )

    async def _from_broker(self, channel: str, data: bytes) -> None:
        kind, _, rest = data.partition(b"|")
        arg, _, payload = rest.partition(b"|")
        if kind == MESSAGE:
            self.deliver_message(channel, int(arg), Outgoing(payload))
        elif kind == EVENT:
            self.deliver_event(channel, Outgoing(payload))
        elif kind == STATE:
            self.policy.forget(channel)
            self.deliver_event(channel, Outgoing(payload))
        elif kind == KICK:
            self._kick_local(payload.decode(), int(arg))
        elif kind == EVICT:
            self.policy.forget(channel)
            await self._evict_local(payload.decode(), channel)

    # -- membership -------------------------------------------------------------------------
    def register(self, connection: Connection) -> None:
        self.connections.add(connection)
        self.stats.connections_total += 1

    async def attach_user(self, connection: Connection) -> None:
        """Put a signed-in socket in its private ``user:<id>`` room (before ``welcome``)."""
        assert connection.principal is not None
        user_id = connection.principal.id
        self.by_user.setdefault(user_id, set()).add(connection)
        room = await self.open_room(f"user:{user_id}")
        room.members[connection] = None

    async def leave(self, connection: Connection, room_name: str) -> None:
        room = self.rooms.get(room_name)
        connection.rooms.discard(room_name)
        if room is None:
            return
        was_member = room.remove(connection)
        if was_member and connection.principal is not None and not room_name.startswith("user:"):
            await self._presence_leave(room, connection)
        await self.close_room_if_empty(room)

    async def unregister(self, connection: Connection) -> None:
        self.connections.discard(connection)
        for room_name in list(connection.rooms):
            with contextlib.suppress(Exception):
                await self.leave(connection, room_name)
        if connection.principal is not None:
            user_id = connection.principal.id
            room = self.rooms.get(f"user:{user_id}")
            if room is not None:
                room.members.pop(connection, None)
                await self.close_room_if_empty(room)
            sockets = self.by_user.get(user_id)
            if sockets is not None:
                sockets.discard(connection)
                if not sockets:
                    del self.by_user[user_id]

    async def presence_join(self, room: LocalRoom, connection: Connection) -> None:
        assert connection.principal is not None
        user = connection.principal
        room.users[user.id] = room.users.get(user.id, 0) + 1
        try:
            before = await self.presence.online(room.name)
            await self.presence.add(room.name, user.id, connection.id)
        except Exception as exc:  # noqa: BLE001 - presence is best effort
            log.warning("presence add failed: %s", type(exc).__name__)
            return
        room.known_online.add(user.id)
        if user.id not in before:
            await self.publish_event(room.name, Presence(room=room.name, user=user.ref(), online=True))

    async def _presence_leave(self, room: LocalRoom, connection: Connection) -> None:
        assert connection.principal is not None
        user = connection.principal
        left = room.users.get(user.id, 1) - 1
        if left <= 0:
            room.users.pop(user.id, None)
        else:
            room.users[user.id] = left
        try:
            await self.presence.remove(room.name, user.id, connection.id)
            online = await self.presence.online(room.name)
        except Exception as exc:  # noqa: BLE001
            log.warning("presence remove failed: %s", type(exc).__name__)
            return
        if user.id not in online:
            room.known_online.discard(user.id)
            await self.publish_event(room.name, Presence(room=room.name, user=user.ref(), online=False))

    # -- housekeeping -----------------------------------------------------------------------
    async def _maintain(self) -> None:
        last_sweep = last_revalidate = time.monotonic()
        while True:
            await asyncio.sleep(self.settings.maintenance_s)
            now = time.monotonic()
            try:
                await self.presence.heartbeat()
            except Exception as exc:  # noqa: BLE001
                log.warning("presence heartbeat failed: %s", type(exc).__name__)
            self._close_silent_and_expired(now)
            if now - last_revalidate >= self.settings.revalidate_s:
                last_revalidate = now
                await self._revalidate()
            if now - last_sweep >= self.settings.presence_sweep_s:
                last_sweep = now
                await self._sweep_presence()

    def _close_silent_and_expired(self, now: float) -> None:
        silence = 2 * self.settings.heartbeat_s
        wall = time.time()
        for connection in list(self.connections):
            if now - connection.last_received > silence:
                connection.close(1001, "silent for too long")
            elif connection.principal is not None and connection.principal.expires_at < wall:
                connection.close(4401, "token expired: send refresh before it does")

    async def _revalidate(self) -> None:
        from careconnect.hub.policy import AuthFailed

        for connection in list(self.connections):
            if connection.principal is None or connection.closed:
                continue
            try:
                await self.authenticator.check(connection.principal)
            except AuthFailed as exc:
                connection.close(exc.close_code, str(exc))
            except Exception as exc:  # noqa: BLE001 - database down: keep the socket
                log.warning("session check failed: %s", type(exc).__name__)
                return

    async def _sweep_presence(self) -> None:
        """Report users whose presence expired elsewhere (a crashed worker) as offline."""
        for room in list(self.rooms.values()):
            if room.name.startswith("user:"):
                continue
            try:
                online = await self.presence.online(room.name)
            except Exception:  # noqa: BLE001
                return
            gone = room.known_online - online
            room.known_online = set(online)
            for user_id in gone:
                ref = room.refs.get(user_id) or UserRef(id=user_id, role="", name="")
                self.deliver_event(room.name, Outgoing(encode_json(Presence(room=room.name, user=ref, online=False))))

    def counts(self) -> dict[str, int]:
        return {
            "connections": len(self.connections),
            "rooms": len(self.rooms),
            "users": len(self.by_user),
            "subscriptions": self.broker.subscriptions(),
        }


def new_worker_id() -> str:
    return uuid.uuid4().hex
