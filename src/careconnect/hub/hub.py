"""The hub: this worker's rooms and sockets, durable sends, and fan-out across workers.

A message travels: socket -> ``Session`` (validation, rate limit, room policy) -> the
group-commit writer (the store assigns the seq and commits) -> ack to the sender ->
``deliver_local`` (this worker's members, in seq order) and ``publish`` (the broker, to every
other worker, whose ``deliver_local`` takes it from there). Frames are encoded once; the same
bytes go to every member, and a commit batch's frames to one socket leave in one write (``Cork``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from careconnect.hub.attachments import AttachmentPort
from careconnect.hub.brokers.base import (
    Broker,
    NotifiesPeer,
    NotifiesPublishFailure,
    NotifiesReconnect,
    PublishesNowait,
)
from careconnect.hub.config import Histogram, HubSettings, HubStats
from careconnect.hub.connection import Connection, Cork, Overflow
from careconnect.hub.encoding import Outgoing, encode_json
from careconnect.hub.limits import LimiterUnavailable, MemorySendLimiter, SendLimiter
from careconnect.hub.origin import OriginPolicy, header
from careconnect.hub.policy import Authenticator, RoomNames, RoomPolicy, SignalPolicy
from careconnect.hub.presence import PresenceManager
from careconnect.hub.protocol import (
    Error,
    Frame,
    ReadOut,
    RoomState,
    TypingOut,
    message_frame,
)
from careconnect.hub.replay import Replay
from careconnect.hub.rooms import LocalRoom
from careconnect.hub.signals import Signals
from careconnect.hub.store import Appended, GroupCommitWriter, MessageStore, NewMessage, StoredMessage
from careconnect.hub.tracing import FrameTracer
from careconnect.hub.upkeep import Upkeep

__all__ = ("Hub", "HubSettings", "HubStats", "message_frame")

log = logging.getLogger("careconnect.hub")

# Broker payloads are b"<kind>|<arg>|<payload>": m message (arg: seq), e event, g best-effort
# signal (typing, read), s room state, k disconnect a user (arg: close code), x evict a user,
# c catch up from the store (a worker that had the room to itself may have skipped publishing),
# v a video call signal to one member (arg: their user id).
MESSAGE, EVENT, SIGNAL, STATE, KICK, EVICT, CATCH_UP = b"m", b"e", b"g", b"s", b"k", b"x", b"c"
CALL_SIGNAL = b"v"


class LoopLag:
    """How late this worker's event loop runs a timer that is due every ``interval`` seconds: the
    time some callback held the loop (a stall every frame on every socket waits behind)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.seconds = Histogram()
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        if self._handle is None:
            self._schedule(asyncio.get_running_loop().time())

    def _schedule(self, now: float) -> None:
        due = now + self.interval
        self._handle = asyncio.get_running_loop().call_at(due, self._tick, due)

    def _tick(self, due: float) -> None:
        now = asyncio.get_running_loop().time()
        self.seconds.observe(max(0.0, now - due))
        self._schedule(now)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def socket_peer(scope: Any) -> str:
    """The address of the socket's peer (the ASGI scope's ``client``), or "" when unknown."""
    client = scope.get("client")
    return str(client[0]) if client else ""


class Hub:
    """This worker's side of the hub. Build it with the application's policies; see ``careconnect.hub``."""

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        policy: RoomPolicy,
        store: MessageStore,
        broker: Broker,
        presence: PresenceManager,
        settings: HubSettings | None = None,
        send_limiter: SendLimiter | None = None,
        origin_policy: OriginPolicy | None = None,
        client_address: Callable[[Any], str] | None = None,
        attachments: AttachmentPort | None = None,
        tracer: FrameTracer | None = None,
    ) -> None:
        self.authenticator = authenticator
        self.tracer = tracer  # None: no spans (careconnect.hub.tracing)
        self.attachments = attachments  # None: a send naming files is refused (PROTOCOL.md 1.1)
        # A socket's client address from its ASGI scope (the application's, when it trusts
        # proxies' X-Forwarded-For); the socket peer by default. Principals carry it.
        self.client_address = client_address or socket_peer
        self.policy = policy
        # Checked once here (STYLE: an optional ability is its own Protocol): None accepts any name.
        self.room_names: RoomNames | None = policy if isinstance(policy, RoomNames) else None
        self.signal_policy: SignalPolicy | None = policy if isinstance(policy, SignalPolicy) else None
        self.store = store
        self.broker = broker
        self.presence = presence
        self.settings = settings or HubSettings()
        # The per-user limit; one worker's memory unless the application shares one (Redis).
        self.send_limiter: SendLimiter = send_limiter or MemorySendLimiter(
            max(self.settings.user_send_limit, self.settings.send_limit), self.settings.send_window_s
        )
        self.origin_policy = origin_policy  # None: any page may open a socket
        self.worker_id = broker.worker_id
        # Checked once here: a broker without it (the in-process one) gets a task per message.
        self._publish_nowait = broker.publish_nowait if isinstance(broker, PublishesNowait) else None
        self.cork = Cork()  # a commit batch's frames to one socket leave in one write
        self.writer = GroupCommitWriter(store, cork=self.cork)
        self.rooms: dict[str, LocalRoom] = {}
        self.connections: set[Connection] = set()
        self.by_user: dict[str, set[Connection]] = {}
        self.stats = HubStats()
        self.loop_lag = LoopLag()
        self.upkeep = Upkeep(self)  # both see the hub only through their narrow ports
        self.replay = Replay(self)
        self.signals = Signals(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.running = False

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        await self.store.start()
        await self.broker.start(self._from_broker)
        broker = self.broker  # its optional abilities (brokers/base.py), checked once here
        if isinstance(broker, NotifiesReconnect):
            broker.on_reconnect = self.catch_up_all
        if isinstance(broker, NotifiesPublishFailure):
            broker.on_publish_failure = self._broker_failed
        if isinstance(broker, NotifiesPeer):
            broker.on_peer = self._peer_subscribed
        self.writer.start()
        self.upkeep.start()
        self.loop_lag.start()
        self.running = True

    async def stop(self, code: int = 1012) -> None:
        """Close every socket with ``code`` (1012: restarting) and release everything."""
        self.running = False
        self.loop_lag.stop()
        for connection in list(self.connections):
            connection.close(code, "server restarting")
        if self._tasks:  # sends being committed: let them reach the broker (their senders resend for the ack)
            await asyncio.wait(list(self._tasks), timeout=2.0)
        await asyncio.gather(*(c.wait_closed(2.0) for c in list(self.connections)), return_exceptions=True)
        await self.upkeep.stop()
        for task in list(self._tasks):
            task.cancel()
        await self.writer.stop()
        await self.broker.stop()
        with contextlib.suppress(Exception):
            await self.presence.close()
        with contextlib.suppress(Exception):
            await self.send_limiter.close()
        await self.store.close()

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _peer_subscribed(self, channel: str) -> None:
        """Another worker subscribed to ``channel``: while we had it to ourselves the broker may
        have skipped publishing our stored messages there, so it reads them from the store."""
        if channel.startswith("user:") or channel not in self.rooms:
            return
        self.spawn(self.publish(channel, b"", kind=CATCH_UP))

    def refuses_origin(self, scope: Any) -> dict[str, Any] | None:
        """The scope's extensions when the handshake must be refused for its ``Origin``, else None."""
        if self.origin_policy is None:
            return None
        origin = header(scope, b"origin")
        if origin is None or self.origin_policy.allows(origin, scope):
            return None
        self.stats.origins_refused += 1
        log.info("refused a socket from origin %r", origin[:100])
        return dict(scope.get("extensions") or {})

    async def user_may_send(self, user_id: str) -> bool:
        """The per-user limit over all of ``user_id``'s connections; True when the counter is down."""
        try:
            allowed = await self.send_limiter.allow(user_id)
        except LimiterUnavailable as exc:
            self.stats.user_limit_failures += 1
            if self.stats.user_limit_failures in (1, 10, 100) or self.stats.user_limit_failures % 1000 == 0:
                log.warning("per-user send limit not checked (%s): letting sends through", exc)
            return True
        if not allowed:
            self.stats.user_limited += 1
        return allowed

    def _broker_failed(self, count: int) -> None:
        self.stats.broker_failures += count

    def on_overflow(self, connection: Connection, policy: Overflow) -> None:
        if policy is Overflow.close:
            self.stats.queue_drops += 1
            log.info("closing slow consumer %s with 4429 (queue full)", connection.id[:8])
        else:
            self.stats.signals_dropped += 1

    # -- rooms ------------------------------------------------------------------------------
    async def open_room(self, name: str) -> LocalRoom:
        """This worker's room entry, subscribing to the broker on first use."""
        room = self.rooms.get(name)
        if room is not None:
            return room
        room = LocalRoom(name)
        self.rooms[name] = room
        try:
            await self.broker.subscribe(name)
            if name.startswith("user:"):
                room.ready = True
            else:
                # Subscribed first, then read: anything published meanwhile waits in `pending`.
                self._deliver_ready(room, room.set_ready(await self.store.last_seq(name)))
                if room.catch_up_pending:
                    room.catch_up_pending = False
                    self.spawn(self.replay.catch_up(room))
        except BaseException:
            if not room.ready and self.rooms.get(name) is room:
                del self.rooms[name]  # no half-open entry may linger
                await self.broker.unsubscribe(name)
            raise
        return room

    async def close_room_if_empty(self, room: LocalRoom) -> None:
        if room.empty() and self.rooms.get(room.name) is room:
            del self.rooms[room.name]
            await self.broker.unsubscribe(room.name)

    # -- local delivery ---------------------------------------------------------------------
    def deliver_local(
        self,
        room_name: str,
        frame: Outgoing,
        *,
        seq: int = 0,
        overflow: Overflow = Overflow.close,
        skip: Connection | None = None,
    ) -> None:
        """Queue ``frame`` for this worker's members of ``room_name`` (never the broker).

        A stored message (``seq`` > 0) goes out strictly in seq order: one that jumps ahead
        waits while the missing seqs are read from the store.
        """
        room = self.rooms.get(room_name)
        if room is None:
            return
        if seq:
            self._deliver_ready(room, room.accept(seq, frame))
            return
        delivered = 0
        for connection in room.members:
            if connection is not skip and connection.enqueue(frame, overflow):
                delivered += 1
        self.stats.deliveries += delivered

    def _deliver_ready(self, room: LocalRoom, frames: list[tuple[int, Outgoing]]) -> None:
        self.stats.deliveries += room.deliver(frames)
        if room.has_gap() and not room.filling:
            room.filling = True
            self.spawn(self.replay.fill_gap(room))

    async def catch_up_all(self) -> None:
        """After a broker outage: deliver whatever every local room missed, from the store.

        Room state changes published meanwhile were missed too, so the policy's cached answers go.
        """
        for room in list(self.rooms.values()):
            if not room.name.startswith("user:"):
                self.policy.forget(room.name)
                self.spawn(self.replay.catch_up(room))

    # -- cluster delivery -------------------------------------------------------------------
    async def publish(self, room: str, payload: bytes, *, kind: bytes = EVENT, arg: bytes = b"") -> None:
        """Send an encoded frame to the other workers (never to this one); failures are counted."""
        if not await self.broker.publish(room, kind + b"|" + arg + b"|" + payload):
            self.stats.broker_failures += 1

    def message_stored(self, stored: StoredMessage) -> None:
        """A message was committed: deliver it here (in seq order) and publish it to the other workers.

        Synchronous, so the writer's commit callbacks fan out without a task per message; a
        broker without ``publish_nowait`` (the in-process one) gets a task.
        """
        payload = encode_json(message_frame(stored))
        self.deliver_local(stored.room, Outgoing(payload), seq=stored.seq)
        arg = str(stored.seq).encode()
        publish_nowait = self._publish_nowait
        if publish_nowait is None:
            self.spawn(self.publish(stored.room, payload, kind=MESSAGE, arg=arg))
        elif not publish_nowait(stored.room, MESSAGE + b"|" + arg + b"|" + payload, recoverable=True):
            self.stats.broker_failures += 1

    async def post(self, message: NewMessage) -> Appended:
        """Store a message that came from the server side (an HTTP API), not a socket, and fan it
        out exactly as a socket's ``send`` is: stored first (the group-commit writer), then
        delivered here in seq order and published to the other workers. A repeat of its (sender,
        room, client id) returns the original and delivers nothing twice."""
        appended = await self.writer.append(message)
        if appended.created:
            self.stats.messages_stored += 1
            self.message_stored(appended.message)
        else:
            self.stats.messages_duplicate += 1
        return appended

    async def publish_event(self, room: str, frame: Frame, *, skip: Connection | None = None) -> None:
        """Push a server event (``room_state``, or an application ``Frame``) to a room on every worker.

        Events are not stored: members connected now get them (a full queue closes that socket
        with 4429, like a message); typing and read are best effort and dropped on a full queue.
        """
        payload = encode_json(frame)
        kind, overflow = EVENT, Overflow.close
        if isinstance(frame, RoomState):
            self.policy.forget(room)
            kind = STATE
        elif isinstance(frame, TypingOut | ReadOut):
            kind, overflow = SIGNAL, Overflow.drop_newest
        self.deliver_local(room, Outgoing(payload), overflow=overflow, skip=skip)
        await self.publish(room, payload, kind=kind)

    def deliver_signal(self, room: str, user_id: str, frame: Outgoing) -> None:
        """Queue a call signal for ``user_id``'s sockets on this worker that are joined to ``room``."""
        for connection in self.by_user.get(user_id, ()):
            if room in connection.rooms:
                connection.enqueue(frame)

    async def publish_signal(self, room: str, user_id: str, payload: bytes) -> None:
        """A call signal to ``user_id`` in ``room`` on the other workers (never stored)."""
        await self.publish(room, payload, kind=CALL_SIGNAL, arg=user_id.encode())

    async def disconnect_user(self, user_id: str, code: int = 4403) -> None:
        """Close every socket of ``user_id`` on every worker (an admin disabled the account)."""
        self._kick_local(user_id, code)
        await self.publish(f"user:{user_id}", user_id.encode(), kind=KICK, arg=str(code).encode())

    async def evict(self, user_id: str, room: str) -> None:
        """Take ``user_id`` out of ``room`` everywhere (the application withdrew their membership)."""
        self.policy.forget(room)
        await self._evict_local(user_id, room)
        await self.publish(room, user_id.encode(), kind=EVICT)

    def _kick_local(self, user_id: str, code: int) -> None:
        for connection in list(self.by_user.get(user_id, ())):
            connection.close(code, "account disabled" if code == 4403 else "session ended")

    async def _evict_local(self, user_id: str, room_name: str) -> None:
        notice = Outgoing(
            encode_json(Error(code="forbidden", message="you were removed from the room", room=room_name))
        )
        for connection in list(self.by_user.get(user_id, ())):
            if room_name in connection.rooms:
                await self.leave(connection, room_name)
                connection.enqueue(notice)

    async def _from_broker(self, channel: str, data: bytes) -> None:
        kind, _, rest = data.partition(b"|")
        arg, _, payload = rest.partition(b"|")
        if kind == MESSAGE:
            self.deliver_local(channel, Outgoing(payload), seq=int(arg))
        elif kind == EVENT:
            self.deliver_local(channel, Outgoing(payload))
        elif kind == SIGNAL:
            self.deliver_local(channel, Outgoing(payload), overflow=Overflow.drop_newest)
        elif kind == CALL_SIGNAL:
            self.deliver_signal(channel, arg.decode(), Outgoing(payload))
        elif kind == STATE:
            self.policy.forget(channel)
            self.deliver_local(channel, Outgoing(payload))
        elif kind == KICK:
            self._kick_local(payload.decode(), int(arg))
        elif kind == EVICT:
            self.policy.forget(channel)
            await self._evict_local(payload.decode(), channel)
        elif kind == CATCH_UP:
            room = self.rooms.get(channel)
            if room is not None:
                if room.ready:
                    self.spawn(self.replay.catch_up(room))
                else:  # opening: catch up once its last seq is known
                    room.catch_up_pending = True
        else:
            log.warning("unknown broker frame kind %r on %s", kind[:8], channel)

    # -- membership -------------------------------------------------------------------------
    def not_a_room(self, name: str) -> bool:
        """``name`` is no room's spelling (the policy's ``RoomNames``); private rooms are the hub's."""
        names = self.room_names
        return names is not None and not name.startswith("user:") and not names.is_room_name(name)

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
            await self.upkeep.presence_leave(room, connection)
        await self.close_room_if_empty(room)

    async def unregister(self, connection: Connection) -> None:
        self.connections.discard(connection)
        if (code := connection.close_code) is not None:  # the hub closed it (a client's own close has none)
            self.stats.closes[code] = self.stats.closes.get(code, 0) + 1
            who = connection.principal.id if connection.principal is not None else "anonymous"
            log.info("socket %s of %s closed by the hub: %d %s", connection.id[:8], who, code, connection.close_reason)
        for room_name in list(connection.rooms):
            try:
                await self.leave(connection, room_name)
            except Exception as exc:  # noqa: BLE001 - presence or broker down: the entry still goes
                log.warning("leaving %s failed: %s", room_name, type(exc).__name__)
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
        await self.upkeep.presence_join(room, connection)

    def counts(self) -> dict[str, int]:
        """Gauges: open sockets, rooms and users on this worker, broker subscriptions."""
        return {
            "connections": len(self.connections),
            "rooms": len(self.rooms),
            "users": len(self.by_user),
            "subscriptions": self.broker.subscriptions(),
        }
