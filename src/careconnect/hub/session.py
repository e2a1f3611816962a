"""One socket's conversation with the hub: hello, then join / send / typing / read / refresh."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import msgspec

from careconnect.hub.attachments import MAX_ATTACHMENTS, AttachmentRef, AttachmentRefused
from careconnect.hub.bounds import has_nul
from careconnect.hub.connection import Connection
from careconnect.hub.encoding import Outgoing, encode_json
from careconnect.hub.policy import AuthFailed, RoomDenied
from careconnect.hub.protocol import (
    MSGPACK_SUBPROTOCOL,
    Ack,
    BadFrame,
    Error,
    Frame,
    Hello,
    Join,
    Joined,
    Leave,
    Member,
    NotAFrame,
    Ping,
    Pong,
    ReadIn,
    ReadOut,
    Refresh,
    Send,
    SignalIn,
    TypingIn,
    TypingOut,
    Welcome,
    decode,
    timestamp,
)
from careconnect.hub.store import Appended, NewMessage, UnstorableMessage

if TYPE_CHECKING:
    from careconnect.hub.hub import Hub
    from careconnect.hub.policy import Principal

log = logging.getLogger("careconnect.hub.session")


_ORIGIN_REFUSED = {
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
    "code": "forbidden",
    "detail": "Pages from this origin may not open a socket here.",
}


def _out(frame: Frame) -> Outgoing:
    return Outgoing(encode_json(frame))


class Session:
    __slots__ = ("address", "binary", "connection", "hub", "receive", "refuse", "settings")

    def __init__(self, hub: Hub, receive: Any, send: Any, scope: Any) -> None:
        self.hub = hub
        self.settings = hub.settings
        self.receive = receive
        # The Origin check reads the headers now, before they are let go below.
        self.refuse = hub.refuses_origin(scope)
        binary = MSGPACK_SUBPROTOCOL in (scope.get("subprotocols") or ())
        self.address = hub.client_address(scope)
        # The hub never reads the handshake's headers again, and the server keeps this scope
        # for the socket's life: let them go (about 1 KiB per socket).
        scope["headers"] = []
        self.binary = binary
        self.connection = Connection(
            send,
            binary=binary,
            queue_size=self.settings.queue_size,
            send_limit=self.settings.send_limit,
            send_window_s=self.settings.send_window_s,
            on_overflow=hub.on_overflow,
            cork=hub.cork,
        )

    def error(self, code: str, message: str, ref: str | None = None, room: str | None = None) -> None:
        self.connection.enqueue(_out(Error(code=code, message=message, ref=ref, room=room)))

    def _not_joined(self, room: str, message: str, ref: str | None = None) -> None:
        """A frame for a room this socket is not in: ``forbidden``, or ``not_found`` for no room's name."""
        if self.hub.not_a_room(room):
            self._no_such_room(room, ref)
        else:
            self.error("forbidden", message, ref=ref, room=room[:200])

    async def _dispatch(self, frame: Frame) -> None:
        """Handle one inbound frame after the hello."""
        connection = self.connection
        if isinstance(frame, Send):
            await self._send(frame)
        elif isinstance(frame, Ping):
            connection.enqueue(_out(Pong()))
        elif isinstance(frame, Join):
            await self._join(frame)
        elif isinstance(frame, Leave):
            if frame.room not in connection.rooms and self.hub.not_a_room(frame.room):
                self._no_such_room(frame.room)
            else:
                await self.hub.leave(connection, frame.room)
        elif isinstance(frame, TypingIn):
            await self._typing(frame)
        elif isinstance(frame, ReadIn):
            await self._read(frame)
        elif isinstance(frame, Refresh):
            await self._refresh(frame)
        elif isinstance(frame, SignalIn):
            await self._signal(frame)
        elif isinstance(frame, Hello):
            self.error("bad_request", "already signed in: hello is only the first frame")

    def _no_such_room(self, room: str, ref: str | None = None) -> None:
        self.error("not_found", "no such room: room names have one spelling", ref=ref, room=room[:200])

    async def run(self) -> None:
        first = await self.receive()
        if first["type"] != "websocket.connect":
            return
        if self.refuse is not None:
            await self._refuse_handshake(self.refuse)
            return
        connection = self.connection
        await connection.accept(MSGPACK_SUBPROTOCOL if self.binary else None)
        self.hub.register(connection)
        try:
            if await self._hello():
                # The frame loop, inline: an idle socket's stack is run -> _next -> receive.
                tracer = self.hub.tracer
                while not connection.closed:
                    frame = await self._next()
                    if frame is None:
                        break
                    if tracer is None:
                        await self._dispatch(frame)
                        continue
                    role = connection.principal.role if connection.principal is not None else ""
                    kind = str(frame.__struct_config__.tag)  # the frame's "type" on the wire
                    with tracer.frame(kind, getattr(frame, "room", None), role, connection.id[:8]):
                        await self._dispatch(frame)
        except asyncio.CancelledError:
            connection.close(1012, "server restarting")
            raise
        except Exception:  # a bug, not a disconnect: keep the trace, tell the client to reconnect
            log.exception("hub session %s failed", connection.id[:8])
            connection.close(1011, "internal error: reconnect")
        finally:
            await self.hub.unregister(connection)
            if not connection.closed:
                connection.close(1000)
            await connection.wait_closed(2.0)

    async def _refuse_handshake(self, extensions: dict[str, Any]) -> None:
        """HTTP 403 instead of the upgrade: a problem details body where the server can send one."""
        send = self.connection.send_handshake
        if "websocket.http.response" in extensions:
            body = json.dumps(_ORIGIN_REFUSED).encode()
            headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})  # the server answers 403

    async def _next(self, timeout: float | None = None) -> Frame | None:
        """The next frame, or None when the socket is gone or was closed for a violation."""
        while True:
            if timeout is None:
                message = await self.receive()
            else:
                message = await asyncio.wait_for(self.receive(), timeout)
            if message["type"] == "websocket.disconnect":
                log.debug("socket %s disconnected (%s)", self.connection.id[:8], message.get("code"))
                self.connection.cancel()  # nothing more can be written to it
                return None
            self.connection.last_received = time.monotonic()
            data = message.get("bytes")
            if data is None:
                data = message.get("text") or ""
                too_big = (
                    len(data) > self.settings.max_frame_bytes // 4
                    and len(data.encode()) > self.settings.max_frame_bytes
                )
            else:
                too_big = len(data) > self.settings.max_frame_bytes
            if too_big:
                self.connection.close(1009, "frame too large")
                return None
            try:
                return decode(data, isinstance(data, bytes) and self.binary)
            except NotAFrame as exc:
                self.connection.close(4400, f"protocol violation: {exc}")
                return None
            except BadFrame as exc:
                if self.connection.principal is None:
                    self.connection.close(4400, "the first frame must be hello")
                    return None
                self.error("bad_request", str(exc), exc.ref)

    async def _hello(self) -> bool:
        connection = self.connection
        try:
            frame = await self._next(self.settings.hello_timeout_s)
        except TimeoutError:
            connection.close(4408, "no hello in time")
            return False
        if frame is None:
            return False
        if not isinstance(frame, Hello):
            connection.close(4400, "the first frame must be hello")
            return False
        try:
            principal = await self.hub.authenticator.authenticate(frame.token)
        except AuthFailed as exc:
            connection.close(exc.close_code, str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - the auth backend is down: try again later
            log.warning("hello could not be checked: %s", type(exc).__name__)
            connection.close(1011, "cannot check the token right now: reconnect with backoff")
            return False
        connection.principal = principal = msgspec.structs.replace(principal, address=self.address)
        await self.hub.attach_user(connection)
        connection.enqueue(
            _out(
                Welcome(
                    user=principal.ref(),
                    session=principal.session_id,
                    heartbeat_s=self.settings.heartbeat_s,
                    server_time=timestamp(),
                )
            )
        )
        return True

    # -- frames -----------------------------------------------------------------------------
    async def _join(self, frame: Join) -> None:
        connection = self.connection
        principal = connection.principal
        assert principal is not None
        room_name = frame.room
        if not room_name or len(room_name) > 200:
            self.error("bad_request", "join needs a room", room=room_name[:200] or None)
            return
        if room_name.startswith("user:"):
            if room_name != f"user:{principal.id}":
                self.error("forbidden", "that is someone else's private room", room=room_name)
                return
            me = Member(id=principal.id, role=principal.role, name=principal.name, online=True)
            connection.enqueue(_out(Joined(room=room_name, last_seq=0, state=None, members=[me])))
            return
        if self.hub.not_a_room(room_name):
            self._no_such_room(room_name)
            return
        if room_name not in connection.rooms and len(connection.rooms) >= self.settings.max_rooms:
            self.error("rate_limited", f"at most {self.settings.max_rooms} rooms per connection", room=room_name)
            return
        try:
            info = await self.hub.policy.join(principal, room_name)
        except RoomDenied as exc:
            self.error(exc.code, str(exc), room=room_name)
            return
        except Exception as exc:  # noqa: BLE001 - database down
            log.warning("join %s failed: %s", room_name, type(exc).__name__)
            self.error("internal", "the room is unavailable right now; retry shortly", room=room_name)
            return
        try:
            await self.hub.replay.join(connection, room_name, frame.since, info)
        except Exception as exc:  # noqa: BLE001 - store or broker down
            log.warning("join %s failed: %s", room_name, type(exc).__name__)
            self.error("internal", "history is unavailable right now; retry the join shortly", room=room_name)

    async def _send(self, frame: Send) -> None:
        connection = self.connection
        principal = connection.principal
        assert principal is not None
        ref = frame.id or None
        if not frame.id or len(frame.id) > 64 or has_nul(frame.id):
            self.error(
                "bad_request", "send needs an id of 1 to 64 characters, no NUL", ref=(frame.id or "")[:64] or None
            )
            return
        if frame.room not in connection.rooms:
            self._not_joined(frame.room, "join the room before sending to it", ref)
            return
        body = frame.body.strip()
        if not body and not frame.attachments:
            self.error("bad_request", "the body is empty", ref=ref, room=frame.room)
            return
        if has_nul(body):  # PostgreSQL's text cannot hold it: refused here, never in a shared commit
            self.error(
                "bad_request", "the body holds a NUL character, which cannot be stored", ref=ref, room=frame.room
            )
            return
        if len(body) > self.settings.max_body_chars:
            self.error(
                "too_large", f"bodies are at most {self.settings.max_body_chars} characters", ref=ref, room=frame.room
            )
            return
        if not connection.allow_send():
            if connection.limited_in_a_row >= self.settings.limited_close_after:
                connection.close(4429, "rate limited too often")
                return
            self.error("rate_limited", "too many messages: slow down", ref=ref, room=frame.room)
            return
        if not await self.hub.user_may_send(principal.id):
            # All of this user's sockets together (every worker): an error for this frame only;
            # the 4429 close stays the per-connection rule.
            self.error("rate_limited", "too many messages from your connections: slow down", ref=ref, room=frame.room)
            return
        try:
            await self.hub.policy.check_write(principal, frame.room)
        except RoomDenied as exc:
            self.error(exc.code, str(exc), ref=ref, room=frame.room)
            return
        except Exception as exc:  # noqa: BLE001 - policy backend down: refuse this frame, keep the socket
            log.warning("write check failed: %s", type(exc).__name__)
            self.error("internal", "could not check the room; resend shortly", ref=ref, room=frame.room)
            return
        files = await self._attachments(frame, principal, ref) if frame.attachments else ()
        if files is None:
            return
        # Queue the append now (keeps this socket's order); the writer calls back after the commit.
        self.hub.writer.submit_with(
            NewMessage(
                room=frame.room,
                client_id=frame.id,
                sender_id=principal.id,
                sender_role=principal.role,
                sender_name=principal.name,
                body=body,
                sender_address=principal.address,
                attachments=files,
            ),
            functools.partial(self._committed, frame),
        )

    async def _attachments(
        self, frame: Send, principal: Principal, ref: str | None
    ) -> tuple[AttachmentRef, ...] | None:
        """The files a ``send`` names, as the application vouches for them; None (after an
        ``error`` frame for this send alone) when they may not go."""
        ids = frame.attachments
        if self.hub.attachments is None:
            self.error("bad_request", "this server takes no attachments", ref=ref, room=frame.room)
            return None
        if len(ids) > MAX_ATTACHMENTS or len(set(ids)) != len(ids) or not all(0 < len(i) <= 64 for i in ids):
            self.error(
                "bad_request", f"attachments are up to {MAX_ATTACHMENTS} distinct file ids", ref=ref, room=frame.room
            )
            return None
        try:
            return tuple(await self.hub.attachments.claim(principal, frame.room, frame.id, ids))
        except AttachmentRefused as exc:
            self.error(exc.code, str(exc), ref=ref, room=frame.room)
        except Exception as exc:  # noqa: BLE001 - database down: refuse this frame, keep the socket
            log.warning("attachment check failed: %s", type(exc).__name__)
            self.error("internal", "could not check the attachments; resend shortly", ref=ref, room=frame.room)
        return None

    def _committed(self, frame: Send, appended: Appended | None, failure: BaseException | None) -> None:
        """The writer's commit callback (no task per message): ack, then deliver and publish."""
        if appended is None:  # nothing was stored: the client resends (unless the store refused the data)
            log.warning("message not stored: %s", type(failure).__name__)
            if isinstance(failure, UnstorableMessage):
                self.error("bad_request", "the message cannot be stored as sent", ref=frame.id, room=frame.room)
            else:
                self.error("internal", "the message was not stored; resend it", ref=frame.id, room=frame.room)
            return
        stored = appended.message
        self.connection.enqueue(
            _out(Ack(id=stored.client_id, room=stored.room, seq=stored.seq, ts=timestamp(stored.created_at)))
        )
        if appended.created:
            self.hub.stats.messages_stored += 1
            self.hub.message_stored(stored)
        else:
            self.hub.stats.messages_duplicate += 1

    async def _typing(self, frame: TypingIn) -> None:
        principal = self.connection.principal
        assert principal is not None
        if frame.room not in self.connection.rooms:
            self._not_joined(frame.room, "join the room first")
            return
        await self.hub.publish_event(frame.room, TypingOut(room=frame.room, user=principal.id), skip=self.connection)

    async def _read(self, frame: ReadIn) -> None:
        principal = self.connection.principal
        assert principal is not None
        if frame.room not in self.connection.rooms:
            self._not_joined(frame.room, "join the room first")
            return
        if frame.seq < 1:
            self.error("bad_request", "read needs the seq you read up to", room=frame.room)
            return
        await self.hub.publish_event(frame.room, ReadOut(room=frame.room, user=principal.id, seq=frame.seq))

    async def _signal(self, frame: SignalIn) -> None:
        principal = self.connection.principal
        assert principal is not None
        if frame.room not in self.connection.rooms:
            self._not_joined(frame.room, "join the room before signalling in it")
            return
        room = frame.room
        await self.hub.signals.relay(
            principal, frame, lambda code, message: self.error(code, message, room=room), self.connection.close
        )

    async def _refresh(self, frame: Refresh) -> None:
        connection = self.connection
        current = connection.principal
        assert current is not None
        try:
            principal = await self.hub.authenticator.authenticate(frame.token)
        except AuthFailed as exc:
            self.error("unauthorized", f"refresh refused: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - auth backend down: the old token still counts
            log.warning("refresh could not be checked: %s", type(exc).__name__)
            self.error("internal", "cannot check the token right now; send refresh again shortly")
            return
        if principal.id != current.id:
            self.error("unauthorized", "refresh must be for the same user")
            return
        connection.principal = msgspec.structs.replace(principal, address=self.address)
