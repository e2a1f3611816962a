"""Video call signalling (PROTOCOL.md 1.1): ``signal`` frames to one online member, never stored.

A signal is checked (its kind, size, the sender's own rate limit, the room's policy, the target
online in the room), then delivered to the target's sockets in the room on this worker and
published to the others, which deliver it the same way (``Hub.deliver_signal``). Two signals
also leave a mark in the room's history: a ``ring`` answered with ``{"accept": true}`` stores
"Video call started", and a ``hangup`` of that call stores "Video call ended (N min)", both
``kind: "call"`` messages keyed by the call's id, so either side hanging up (or both) stores
one end.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from careconnect.hub.encoding import Outgoing, encode_json
from careconnect.hub.policy import Principal, RoomDenied
from careconnect.hub.protocol import SignalIn, SignalOut
from careconnect.hub.store import Appended, NewMessage

if TYPE_CHECKING:
    from careconnect.hub.hub import Hub

log = logging.getLogger("careconnect.hub.signals")

KINDS = frozenset({"ring", "offer", "answer", "ice", "hangup"})
CALL_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_encode = msgspec.json.Encoder()


class SignalWindow:
    """One user's signal rate limit: at most ``limit`` signals in any ``window_s`` seconds."""

    __slots__ = ("limit", "limited_in_a_row", "times", "window_s")

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self.times: collections.deque[float] = collections.deque()
        self.limited_in_a_row = 0  # refusals since the last allowed signal

    def allow(self) -> bool:
        now = time.monotonic()
        times = self.times
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            self.limited_in_a_row += 1
            return False
        times.append(now)
        self.limited_in_a_row = 0
        return True


def ended_body(seconds: float) -> str:
    """The end of a call as the chat shows it: "Video call ended (12 min)"."""
    if seconds < 60:
        return "Video call ended (under a minute)"
    return f"Video call ended ({round(seconds / 60)} min)"


Refuse = Callable[[str, str], None]  # (code, message): an error frame to the sender
Close = Callable[[int, str], None]  # (close code, reason): the sender's socket


class Signals:
    """The hub's signalling: validation, routing, and the call's start and end in the history."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        # Per user on this worker, not per socket: a reconnect does not reset the count. Windows
        # idle for longer than the window are dropped as more users signal.
        self.windows: dict[str, SignalWindow] = {}

    def window(self, user_id: str) -> SignalWindow:
        window = self.windows.get(user_id)
        if window is None:
            if len(self.windows) >= 1000:
                self._prune()
            settings = self.hub.settings
            window = self.windows[user_id] = SignalWindow(settings.signal_limit, settings.signal_window_s)
        return window

    def _prune(self) -> None:
        horizon = time.monotonic() - self.hub.settings.signal_window_s
        for user_id in [u for u, w in self.windows.items() if not w.times or w.times[-1] <= horizon]:
            del self.windows[user_id]

    async def relay(self, principal: Principal, frame: SignalIn, refuse: Refuse, close: Close) -> None:
        """Check ``frame`` from ``principal`` (joined to its room) and deliver it, or ``refuse`` it.

        Past the rate limit ``limited_close_after`` times in a row the socket is closed (4429), as
        for sends: a refusal costs the hub an error frame, so a storm of them is not answered.
        """
        hub = self.hub
        settings = hub.settings
        if frame.kind not in KINDS:
            refuse("bad_request", "a signal's kind is ring, offer, answer, ice or hangup")
            return
        if not frame.to or len(frame.to) > 64:
            refuse("bad_request", "a signal needs the user id of the member it goes to")
            return
        if frame.to == principal.id:
            refuse("bad_request", "a signal goes to another member of the room")
            return
        if not self.window(principal.id).allow():
            if self.windows[principal.id].limited_in_a_row >= settings.limited_close_after:
                close(4429, "rate limited too often")
                return
            refuse("rate_limited", f"at most {settings.signal_limit} signals per {settings.signal_window_s:g} s")
            return
        if len(_encode.encode(frame.data)) > settings.signal_max_bytes:
            refuse("too_large", f"a signal's data is at most {settings.signal_max_bytes} bytes")
            return
        try:
            if hub.signal_policy is not None:
                await hub.signal_policy.check_signal(principal, frame.room)
            else:
                await hub.policy.check_write(principal, frame.room)
            online = await hub.presence.online(frame.room)
        except RoomDenied as exc:
            refuse(exc.code, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - policy or presence down: this frame only
            log.warning("signal check failed: %s", type(exc).__name__)
            refuse("internal", "could not check the room; signal again shortly")
            return
        if frame.to not in online:
            refuse("not_found", "that member is not online in this room")
            return
        out = SignalOut(room=frame.room, from_=principal.ref(), kind=frame.kind, data=frame.data)
        payload = encode_json(out)
        hub.deliver_signal(frame.room, frame.to, Outgoing(payload))
        await hub.publish_signal(frame.room, frame.to, payload)
        hub.stats.call_signals += 1
        call_id = frame.data.get("call")
        if not isinstance(call_id, str) or CALL_ID.fullmatch(call_id) is None:
            return
        if frame.kind == "ring" and frame.data.get("accept") is True:
            self._started(principal, frame.room, frame.to, call_id)
        elif frame.kind == "hangup":
            await self._ended(principal, frame.room, frame.to, call_id)

    def _started(self, principal: Principal, room: str, caller_id: str, call_id: str) -> None:
        """The callee (``principal``) accepted: "Video call started", sent by the callee."""
        new = NewMessage(
            room=room,
            client_id=f"call:{call_id}:start",
            sender_id=principal.id,
            sender_role=principal.role,
            sender_name=principal.name,
            body="Video call started",
            sender_address=principal.address,
            kind="call",
        )
        policy = self.hub.signal_policy

        def audit() -> None:
            if policy is not None:
                self.hub.spawn(policy.call_started(principal, room, caller_id, principal.id))

        self.hub.writer.submit_with(new, self._committed(audit))

    async def _ended(self, principal: Principal, room: str, other_id: str, call_id: str) -> None:
        """Either side hung up a started call: "Video call ended (N min)" once, sent by the callee."""
        start_id = f"call:{call_id}:start"
        try:
            start = await self.hub.store.find(principal.id, room, start_id) or await self.hub.store.find(
                other_id, room, start_id
            )
        except Exception as exc:  # noqa: BLE001 - the store is down: the hangup itself went through
            log.warning("call end not recorded: %s", type(exc).__name__)
            return
        if start is None:  # declined or never answered: no call to record
            return
        seconds = max(0.0, (dt.datetime.now(dt.UTC) - start.created_at).total_seconds())
        new = NewMessage(
            room=room,
            client_id=f"call:{call_id}:end",
            sender_id=start.sender_id,
            sender_role=start.sender_role,
            sender_name=start.sender_name,
            body=ended_body(seconds),
            sender_address=principal.address,
            kind="call",
        )
        caller_id = other_id if start.sender_id == principal.id else principal.id
        policy = self.hub.signal_policy

        def audit() -> None:
            if policy is not None:
                self.hub.spawn(policy.call_ended(principal, room, caller_id, start.sender_id, seconds))

        self.hub.writer.submit_with(new, self._committed(audit))

    def _committed(self, audit: Callable[[], None]) -> Callable[[Appended | None, BaseException | None], None]:
        def done(appended: Appended | None, failure: BaseException | None) -> None:
            if appended is None:
                log.warning("call message not stored: %s", type(failure).__name__)
                return
            if appended.created:  # a repeat (both sides hung up) is stored and audited once
                self.hub.stats.messages_stored += 1
                self.hub.message_stored(appended.message)
                audit()

        return done
