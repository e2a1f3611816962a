"""``HubClient``: one WebSocket session with the hub that survives reconnects, restarts and expiry.

After any drop it reconnects with full-jitter backoff (rotating through its URLs), says
``hello`` with a still-valid token (asking the provider only when it must), re-joins every
room it was not told to leave with ``since`` (the last seq it took in), and resends every
unacknowledged message with its original id; the server answers a resend with the original
ack and delivers nothing twice, so each room's messages come out exactly once, in seq order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from careconnect_client.backoff import Backoff
from careconnect_client.errors import AuthError, Closed, ConnectError, HubError, ProtocolError, Rejected, Timeout
from careconnect_client.frames import (
    MSGPACK_SUBPROTOCOL,
    Ack,
    BadFrame,
    ClientFrame,
    Codec,
    Encoding,
    Error,
    Event,
    Hello,
    Join,
    Joined,
    Leave,
    Message,
    Ping,
    Pong,
    Refresh,
    Send,
    SendRead,
    SendSignal,
    SendTyping,
    Welcome,
)
from careconnect_client.inbox import EventInbox
from careconnect_client.room import Room
from careconnect_client.tokens import TokenKeeper, TokenProvider

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

__all__ = ("ClientStats", "HubClient")

log = logging.getLogger("careconnect_client")

AUTH_CLOSE, DISABLED_CLOSE = 4401, 4403
PROTOCOL_CLOSES = {4400: "protocol violation", 1009: "frame too large"}
RETRY_LATER = {"rate_limited", "internal"}  # a send refused for now: same id, later
_UNSET: Any = object()


class ClientStats(msgspec.Struct, frozen=True):
    """A snapshot of the client's counters (``client.stats``)."""

    reconnects: int  # sessions opened after the first
    token_calls: int  # tokens the provider handed out
    events_dropped: int  # oldest events dropped from the full event queue
    duplicates_dropped: int  # messages seen twice (a replay overlapping live traffic), dropped
    message_overflows: int  # times a room's message queue was full (the rest came by replay)
    bad_frames: int  # frames that were not valid (logged and skipped)


class _Transient(Exception):
    """One attempt failed in a way that a later attempt may not: retry with backoff."""


class _Pending:
    __slots__ = ("frame", "future")

    def __init__(self, frame: Send, future: asyncio.Future[Ack]) -> None:
        self.frame = frame
        self.future = future


class HubClient:
    """A hub session for a bot, an integration or a test.

    Args:
        url: the hub's ``ws(s)://…/ws`` URL, or several (workers with no balancer in front):
            a failed attempt moves on to the next.
        token_provider: an async callable returning an access token, or a fixed token string
            (which cannot be renewed: its expiry or a 4401 then ends the client).
        client_name: sent in ``hello`` (shows up in the server's logs).
        encoding: ``"json"`` or ``"msgpack"`` (the ``careconnect.v1.msgpack`` subprotocol;
            JSON if the server does not offer it).
        reconnect: reconnect after a drop (``False``: the first drop ends the client).
        queue_size: the bound of the event queue and of each room's message queue.
        backoff_base, backoff_cap: full-jitter reconnect delays, in seconds.
        connect_retries: how many failed attempts ``connect()`` retries before ``ConnectError``.
        open_timeout: seconds for the handshake, ``welcome`` and ``joined``.
        send_timeout: seconds ``send`` waits for its ack (``None``: until acked or closed).
    """

    def __init__(
        self,
        url: str | Sequence[str],
        token_provider: TokenProvider,
        *,
        client_name: str = "careconnect-client/0.1",
        encoding: Encoding = "json",
        reconnect: bool = True,
        queue_size: int = 1000,
        backoff_base: float = 0.2,
        backoff_cap: float = 10.0,
        connect_retries: int = 5,
        open_timeout: float = 10.0,
        send_timeout: float | None = 60.0,
    ) -> None:
        self.urls = [url] if isinstance(url, str) else list(url)
        if not self.urls:
            raise ValueError("HubClient needs at least one ws:// or wss:// URL")
        for each in self.urls:
            if not each.startswith(("ws://", "wss://")):
                raise ValueError(f"{each!r} is not a ws:// or wss:// URL (the hub lives at …/ws)")
        if encoding not in ("json", "msgpack"):
            raise ValueError("encoding is 'json' or 'msgpack'")
        self.url = self.urls[0]
        self.client_name = client_name
        self.encoding: Encoding = encoding
        self.reconnect = reconnect
        self.queue_size = queue_size
        self.connect_retries = connect_retries
        self.open_timeout = open_timeout
        self.send_timeout = send_timeout
        self.welcome: Welcome | None = None
        self.close_code: int | None = None  # of the last connection that ended
        self.reconnects = 0
        self._bad_frames = 0
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._tokens = TokenKeeper(token_provider)
        self._codec = Codec("json")
        self._rooms: dict[str, Room] = {}
        self._gone: list[Room] = []  # rooms left or removed, for their counters (the last 100)
        self._events: EventInbox[Event] = EventInbox(queue_size)
        self._unacked: dict[str, _Pending] = {}
        self._ws: ClientConnection | None = None
        self._write = asyncio.Lock()  # re-joins and resends go out before any new frame
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._final: HubError | None = None
        self._closing = False
        self._auth_streak = 0  # 4401s since the last welcome

    # -- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> HubClient:
        await self.connect()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> Welcome:
        """Open the session (retrying transient failures); the ``welcome`` frame."""
        if self._final is not None:
            raise self._final
        if self._runner is not None:
            assert self.welcome is not None
            return self.welcome
        failures = 0
        while True:
            try:
                await self._open()
                break
            except _Transient as exc:
                failures += 1
                self._next_url()
                if failures > self.connect_retries:
                    raise ConnectError(f"could not connect to {self.urls}: {exc}") from exc.__cause__
                await asyncio.sleep(self._backoff.next())
        self._backoff.reset()
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="careconnect-client")
        self._spawn(self._refresh_tokens())
        assert self.welcome is not None
        return self.welcome

    async def close(self) -> None:
        """Close the session; iterators end, pending sends raise ``Closed``."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):  # noqa: BLE001 - closing whatever state it is in
                await ws.close()
        runner = self._runner
        if runner is not None and not runner.done():
            runner.cancel()  # reading, or waiting to reconnect
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        self._finish(Closed(reason="closed by the client"))

    @property
    def stats(self) -> ClientStats:
        rooms = list(self._rooms.values()) + list(self._gone)
        return ClientStats(
            reconnects=self.reconnects,
            token_calls=self._tokens.calls,
            events_dropped=self._events.dropped,
            duplicates_dropped=sum(room.duplicates for room in rooms),
            message_overflows=sum(room.overflows for room in rooms),
            bad_frames=self._bad_frames,
        )

    @property
    def token(self) -> str | None:
        """The access token in use (for the same service's REST calls), renewed as the hub's."""
        return self._tokens.current

    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def unacked(self) -> int:
        """Sends not yet acknowledged (resent after every reconnect)."""
        return len(self._unacked)

    @property
    def rooms(self) -> dict[str, Room]:
        """The rooms joined (and re-joined after reconnects), by name."""
        return {name: room for name, room in self._rooms.items() if room.active}

    async def drop_connection(self) -> None:
        """Cut the socket without a close handshake, as a network failure would (for tests)."""
        ws = self._ws
        if ws is not None:
            ws.transport.abort()

    # -- one session ---------------------------------------------------------------------------
    def _next_url(self) -> None:
        self.url = self.urls[(self.urls.index(self.url) + 1) % len(self.urls)]

    async def _open(self) -> None:
        """One attempt: handshake, ``hello`` → ``welcome``, re-joins and resends."""
        try:
            token = await self._tokens.get()
        except HubError:
            raise
        except Exception as exc:  # noqa: BLE001 - the provider's own failure (its server restarting...)
            raise _Transient(f"the token provider failed: {exc!r}") from exc
        try:
            ws = await connect(
                self.url,
                subprotocols=[Subprotocol(MSGPACK_SUBPROTOCOL)] if self.encoding == "msgpack" else None,
                compression=None,
                open_timeout=self.open_timeout,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=5,
                max_size=2**22,
                user_agent_header=self.client_name,
            )
        except InvalidURI as exc:
            raise ProtocolError(str(exc)) from exc
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status >= 500 or status == 429:
                raise _Transient(f"HTTP {status}") from exc
            raise ProtocolError(f"{self.url} answered HTTP {status}: is it the hub's /ws?") from exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _Transient(repr(exc)) from exc
        codec = Codec("msgpack" if ws.subprotocol == MSGPACK_SUBPROTOCOL else "json")
        try:
            await ws.send(codec.encode(Hello(token=token, client=self.client_name)))
            first = codec.decode(await asyncio.wait_for(ws.recv(), self.open_timeout))
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            self.close_code = code
            await self._after_close(code, exc.rcvd.reason if exc.rcvd else "", token)
            raise _Transient(f"closed with {code} before welcome") from exc
        except (TimeoutError, OSError, BadFrame) as exc:
            with contextlib.suppress(Exception):  # noqa: BLE001 - giving up on this socket
                await ws.close()
            raise _Transient(f"no welcome: {exc!r}") from exc
        if not isinstance(first, Welcome):
            await ws.close()
            raise ProtocolError(f"expected a welcome frame, got {first!r}")
        self.welcome = first
        self._auth_streak = 0
        self._codec = codec
        async with self._write:
            self._ws = ws
            for room in list(self._rooms.values()):
                room._joins_in_flight = 0  # what was in flight went down with the last socket
                await self._put_join(room)
            for pending in list(self._unacked.values()):
                await self._put(pending.frame)
        self._spawn(self._heartbeat(ws, first.heartbeat_s))

    async def _after_close(self, code: int | None, reason: str, token: str | None) -> None:
        """Raise the error that ends the client for ``code``, or return to reconnect."""
        if code == AUTH_CLOSE:
            self._auth_streak += 1
            if not self._tokens.renewable or self._auth_streak > 1:
                raise AuthError(f"the hub refused the token (4401 {reason})".strip(), code)
            try:
                await self._tokens.renew(token)  # once for this token, however many ask
            except HubError:
                raise
            except Exception as exc:  # noqa: BLE001 - the provider failed: try again with backoff
                log.warning("token provider failed after 4401: %r", exc)
                self._auth_streak -= 1
        elif code == DISABLED_CLOSE:
            raise AuthError(f"the account is disabled (4403 {reason})".strip(), code)
        elif code in PROTOCOL_CLOSES:
            raise ProtocolError(f"closed with {code}: {PROTOCOL_CLOSES[code]} ({reason})")
        elif code == 1000:
            raise Closed(code, reason or "closed by the server")

    async def _run(self) -> None:
        """Read until the connection ends; then reconnect, or end the client for good."""
        while True:
            ws = self._ws
            assert ws is not None
            token = self._tokens.current
            code, reason = await self._read(ws)
            self._ws = None
            self.close_code = code
            if self._closing or self._final is not None:
                return
            try:
                await self._after_close(code, reason, token)
                if not self.reconnect:
                    raise Closed(code, reason or "connection lost (reconnect=False)")
            except HubError as exc:
                self._finish(exc)
                return
            log.info("connection to %s ended (%s %s): reconnecting", self.url, code, reason)
            while True:
                await asyncio.sleep(self._backoff.next())
                if self._closing:
                    return
                try:
                    await self._open()
                except _Transient as exc:
                    log.info("reconnect to %s failed: %s", self.url, exc)
                    self._next_url()
                    continue
                except HubError as exc:
                    self._finish(exc)
                    return
                self.reconnects += 1
                self._backoff.reset()
                break

    async def _read(self, ws: ClientConnection) -> tuple[int | None, str]:
        try:
            async for data in ws:
                try:
                    frame = self._codec.decode(data)
                except BadFrame as exc:
                    self._bad_frames += 1
                    log.warning("skipped a frame from the hub: %s", exc)
                    continue
                self._handle(frame)
        except ConnectionClosed:
            pass
        except OSError as exc:
            log.debug("connection lost: %r", exc)
        received = ws.protocol.close_rcvd
        return (received.code, received.reason) if received else (None, "connection lost")

    async def _heartbeat(self, ws: ClientConnection, interval: float) -> None:
        """A ``ping`` frame every ``heartbeat_s``: the server closes sockets silent for twice that."""
        with contextlib.suppress(ConnectionClosed, OSError):
            while self._ws is ws:
                await asyncio.sleep(max(1.0, interval))
                if self._ws is ws:
                    await ws.send(self._codec.encode(Ping()))

    async def _refresh_tokens(self) -> None:
        """Ask for the next token about a minute before ``exp`` (half-life if shorter); send it."""
        backoff = Backoff(1.0, 30.0)
        while self._final is None:
            due = self._tokens.refresh_at()
            wait = 5.0 if due is None else due - time.time()
            if due is None or wait > 0:
                await asyncio.sleep(min(max(wait, 0.05), 5.0))
                continue
            stale = self._tokens.current
            try:
                token = await self._tokens.renew(stale)
            except AuthError as exc:
                self._finish(exc)
                return
            except Exception as exc:  # noqa: BLE001 - the provider failed: the old token may still do
                log.warning("token provider failed: %r (retrying)", exc)
                await asyncio.sleep(backoff.next())
                continue
            if token == stale:
                await asyncio.sleep(backoff.next())  # the provider gave the same token back
                continue
            backoff.reset()
            await self._transmit(Refresh(token=token))

    # -- frames in -----------------------------------------------------------------------------
    def _handle(self, frame: Any) -> None:
        if isinstance(frame, Message):
            room = self._rooms.get(frame.room)
            if room is not None and room.active:
                room._on_message(frame)
        elif isinstance(frame, Ack):
            pending = self._unacked.pop(frame.id, None)
            if pending is not None and not pending.future.done():
                pending.future.set_result(frame)
        elif isinstance(frame, Joined):
            room = self._rooms.get(frame.room)
            if room is not None:
                room._on_joined(frame)
        elif isinstance(frame, Error):
            self._on_error(frame)
        elif isinstance(frame, Ping):
            self._spawn(self._transmit(Pong()))
        elif isinstance(frame, Pong | Welcome):
            pass
        else:
            self._event(frame)

    def _event(self, event: Event) -> None:
        self._events.put(event)

    def _on_error(self, error: Error) -> None:
        if error.ref is not None and (pending := self._unacked.get(error.ref)) is not None:
            if error.code in RETRY_LATER:
                self._spawn(self._resend_later(pending))
            else:
                del self._unacked[error.ref]
                if not pending.future.done():
                    pending.future.set_exception(Rejected(error))
            return
        room = self._rooms.get(error.room) if error.room else None
        if room is not None and room.active:
            if room._joins_in_flight > 0 and error.code != "internal":
                # The answer to a join (frames are answered in order): refused, so not re-joined.
                room._joins_in_flight -= 1
                self._remove(room, error)
            elif error.code == "forbidden":
                self._remove(room, error)  # taken out of the room (a bot removed by the doctor)
            elif error.code == "internal":
                room._joins_in_flight = max(0, room._joins_in_flight - 1)
                self._spawn(self._rejoin_later(room))  # "history interrupted: re-join with since"
        self._event(error)

    def _remove(self, room: Room, error: Error) -> None:
        room.removed = error
        del self._rooms[room.name]
        self._forget(room)
        room._fail_join(Rejected(error))
        room._end(StopAsyncIteration())

    def _forget(self, room: Room) -> None:
        self._gone.append(room)
        del self._gone[:-100]

    # -- frames out ----------------------------------------------------------------------------
    async def _put(self, frame: ClientFrame) -> None:
        """Write one frame on the current socket (the caller holds ``_write``); lost on a drop."""
        ws = self._ws
        if ws is None:
            return
        with contextlib.suppress(ConnectionClosed, OSError):
            await ws.send(self._codec.encode(frame))

    async def _transmit(self, frame: ClientFrame) -> None:
        async with self._write:
            await self._put(frame)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _rejoin(self, room: Room) -> None:
        self._spawn(self._join_frame(room))

    async def _join_frame(self, room: Room) -> None:
        async with self._write:
            await self._put_join(room)

    async def _put_join(self, room: Room) -> None:
        if self._ws is not None and room.active:
            room._joins_in_flight += 1
            room._accept_any = room.last_seq == 0
            await self._put(Join(room=room.name, since=room.last_seq))

    async def _rejoin_later(self, room: Room) -> None:
        """The server could not read the history (its database is down): ask again shortly."""
        await asyncio.sleep(Backoff(0.5, 5.0).next() + 0.5)
        await self._join_frame(room)

    async def _resend_later(self, pending: _Pending) -> None:
        await asyncio.sleep(Backoff(0.5, 5.0).next() + 0.5)
        if self._unacked.get(pending.frame.id) is pending:
            await self._transmit(pending.frame)

    def _check(self) -> None:
        if self._final is not None:
            raise self._final
        if self._runner is None:
            raise Closed(reason="not connected: use `async with HubClient(...)` or `await client.connect()`")

    def _finish(self, error: HubError) -> None:
        """End the client: pending sends and joins raise ``error``; iterators end (or raise it)."""
        if self._final is not None:
            return
        self._final = error
        ends = StopAsyncIteration() if self._closing else error
        for pending in self._unacked.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._unacked.clear()
        for room in self._rooms.values():
            room._fail_join(error)
            room._end(ends)
        self._events.end(ends)
        for task in self._tasks:
            task.cancel()
        if self._ws is not None and not self._closing:
            asyncio.get_running_loop().create_task(self._ws.close())

    # -- API -----------------------------------------------------------------------------------
    def __aiter__(self) -> HubClient:
        return self

    async def __anext__(self) -> Event:
        if self._runner is None and self._final is None:
            raise Closed(reason="not connected: use `async with HubClient(...)` or `await client.connect()`")
        return await self._events.get()

    async def receive(self, timeout: float | None = None) -> Event:
        """The next event (everything but messages: those come from their room)."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except TimeoutError:
            raise Timeout(f"no event within {timeout}s") from None

    def room(self, name: str) -> Room:
        """The handle of room ``name`` (iterating one not joined yet joins it first)."""
        room = self._rooms.get(name)
        if room is None:
            room = self._rooms[name] = Room(self, name, self.queue_size)
        return room

    async def join(self, name: str, *, since: int | None = None, timeout: float | None = None) -> Room:
        """Join ``name`` and wait for ``joined`` (``Rejected`` if refused); re-joined after reconnects.

        ``since`` is the last seq already seen (the replay starts after it); ``None`` continues
        from what this client took in, or, for a new room, the server's last 50 messages.
        """
        self._check()
        room = self.room(name)
        if since is not None:
            room.last_seq = since
        room.active, room.removed = True, None
        waiter: asyncio.Future[Joined] = asyncio.get_running_loop().create_future()
        room._join_waiters.append(waiter)
        await self._join_frame(room)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout or self.open_timeout)
        except TimeoutError:
            raise Timeout(f"no answer to joining {name}") from None
        return room

    async def leave(self, name: str) -> None:
        """Leave ``name``: it is not re-joined, and its iterator ends after what it buffered."""
        room = self._rooms.pop(name, None)
        if room is not None:
            self._forget(room)
            room._end(StopAsyncIteration())
        if self._final is None:
            await self._transmit(Leave(room=name))

    async def send(
        self,
        room: str,
        body: str,
        *,
        id: str | None = None,
        attachments: Sequence[str] = (),
        timeout: float | None = _UNSET,
    ) -> Ack:
        """Send and wait for the ack (the message is stored); resent with its id until acked.

        ``id`` makes the send idempotent: sending the same id again (after a ``Timeout``, or
        from a restarted process) returns the original ack and delivers nothing twice.
        """
        self._check()
        client_id = id or uuid.uuid4().hex
        pending = self._unacked.get(client_id)
        if pending is None:
            frame = Send(room=room, id=client_id, body=body, attachments=list(attachments))
            pending = self._unacked[client_id] = _Pending(frame, asyncio.get_running_loop().create_future())
            await self._transmit(frame)
        limit = self.send_timeout if timeout is _UNSET else timeout
        try:
            return await asyncio.wait_for(asyncio.shield(pending.future), limit)
        except TimeoutError:
            if self._unacked.get(client_id) is pending:
                del self._unacked[client_id]
            raise Timeout(f"no ack for {client_id} within {limit}s (send it again with id={client_id!r})") from None

    async def typing(self, room: str) -> None:
        """Best effort: dropped while disconnected."""
        self._check()
        await self._transmit(SendTyping(room=room))

    async def read(self, room: str, seq: int) -> None:
        """Best effort: dropped while disconnected."""
        self._check()
        await self._transmit(SendRead(room=room, seq=seq))

    async def signal(self, room: str, to: str, kind: str, data: dict[str, Any] | None = None) -> None:
        """A video call's signalling to one online member (best effort, never stored)."""
        self._check()
        await self._transmit(SendSignal(room=room, to=to, kind=kind, data=data or {}))

    async def refresh(self, token: str | None = None) -> str:
        """Send a fresh token now (``token``, or the provider's next); normally automatic."""
        self._check()
        fresh = self._tokens.use(token) if token is not None else await self._tokens.renew(self._tokens.current)
        await self._transmit(Refresh(token=fresh))
        return fresh
