"""The hub's background upkeep: heartbeats, token expiry, session revalidation and presence.

One task per worker wakes every ``maintenance_s`` seconds and:
- closes sockets silent for 2 x ``heartbeat_s`` (1001) and sockets whose token expired
  without a ``refresh`` (4401);
- every ``revalidate_s`` asks the ``Authenticator`` about each connected session, closing
  revoked sessions (4401) and disabled accounts (4403);
- refreshes this worker's presence entries and, every ``presence_sweep_s``, reports users
  whose entries expired elsewhere (a crashed worker) as offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Protocol

from careconnect.hub.encoding import Outgoing, encode_json
from careconnect.hub.policy import AuthFailed
from careconnect.hub.protocol import Presence, UserRef

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from careconnect.hub.config import HubSettings
    from careconnect.hub.connection import Connection
    from careconnect.hub.policy import Authenticator, Principal
    from careconnect.hub.presence import PresenceManager
    from careconnect.hub.protocol import Frame
    from careconnect.hub.rooms import LocalRoom

log = logging.getLogger("careconnect.hub.upkeep")


class UpkeepHost(Protocol):
    """What the upkeep needs of its hub (``Hub`` is one): the sockets and rooms it looks after,
    who to ask about sessions and presence, and the two ways to tell a room."""

    @property
    def settings(self) -> HubSettings: ...
    @property
    def authenticator(self) -> Authenticator: ...
    @property
    def presence(self) -> PresenceManager: ...
    @property
    def connections(self) -> Collection[Connection]: ...
    @property
    def rooms(self) -> Mapping[str, LocalRoom]: ...

    async def publish_event(self, room: str, frame: Frame) -> None:
        """``frame`` to the room's members on every worker."""
        ...

    def deliver_local(self, room_name: str, frame: Outgoing) -> None:
        """``frame`` to the room's members on this worker only."""
        ...


class Upkeep:
    def __init__(self, hub: UpkeepHost) -> None:
        self.hub = hub
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hub-upkeep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        settings = self.hub.settings
        last_sweep = last_revalidate = time.monotonic()
        while True:
            await asyncio.sleep(settings.maintenance_s)
            now = time.monotonic()
            try:
                await self.hub.presence.heartbeat()
            except Exception as exc:  # noqa: BLE001 - presence is best effort
                log.warning("presence heartbeat failed: %s", type(exc).__name__)
            self.close_silent_and_expired(now)
            if now - last_revalidate >= settings.revalidate_s:
                last_revalidate = now
                await self.revalidate()
            if now - last_sweep >= settings.presence_sweep_s:
                last_sweep = now
                await self.sweep_presence()

    def close_silent_and_expired(self, now: float) -> None:
        silence = 2 * self.hub.settings.heartbeat_s
        wall = time.time()
        for connection in list(self.hub.connections):
            principal = connection.principal
            if now - connection.last_received > silence:
                connection.close(1001, "silent for too long: send ping every heartbeat_s")
            elif principal is not None and 0 < principal.expires_at < wall:
                connection.close(4401, "token expired: send refresh before it does")

    async def revalidate(self) -> None:
        """Ask the authenticator about every connected session (once per session)."""
        sessions: dict[str, tuple[Principal, list[Connection]]] = {}
        for connection in list(self.hub.connections):
            principal = connection.principal
            if principal is None or connection.closed:
                continue
            entry = sessions.setdefault(principal.session_id, (principal, []))
            entry[1].append(connection)
        for principal, connections in sessions.values():
            try:
                await self.hub.authenticator.check(principal)
            except AuthFailed as exc:
                for connection in connections:
                    connection.close(exc.close_code, str(exc))
            except Exception as exc:  # noqa: BLE001 - database down: keep the sockets, retry next round
                log.warning("session check failed: %s", type(exc).__name__)
                return

    # -- presence ---------------------------------------------------------------------------
    async def presence_join(self, room: LocalRoom, connection: Connection) -> None:
        """Record a joined socket; tell the room if its user just came online."""
        assert connection.principal is not None
        user = connection.principal
        presence = self.hub.presence
        try:
            before = await presence.online(room.name)
            await presence.add(room.name, user.id, connection.id)
        except Exception as exc:  # noqa: BLE001 - presence is best effort
            log.warning("presence add failed: %s", type(exc).__name__)
            return
        room.known_online.add(user.id)
        if user.id not in before:
            await self.hub.publish_event(room.name, Presence(room=room.name, user=user.ref(), online=True))

    async def presence_leave(self, room: LocalRoom, connection: Connection) -> None:
        """Forget a socket; tell the room if its user has no socket left in it on any worker."""
        assert connection.principal is not None
        user = connection.principal
        presence = self.hub.presence
        try:
            await presence.remove(room.name, user.id, connection.id)
            online = await presence.online(room.name)
        except Exception as exc:  # noqa: BLE001 - presence is best effort
            log.warning("presence remove failed: %s", type(exc).__name__)
            return
        if user.id not in online:
            room.known_online.discard(user.id)
            await self.hub.publish_event(room.name, Presence(room=room.name, user=user.ref(), online=False))

    async def sweep_presence(self) -> None:
        """Report users whose presence expired elsewhere (a crashed worker) as offline."""
        rooms = [room for room in self.hub.rooms.values() if not room.name.startswith("user:")]
        if not rooms:
            return
        try:
            online = await self.hub.presence.online_many([room.name for room in rooms])
        except Exception as exc:  # noqa: BLE001 - presence store down: try next round
            log.warning("presence sweep failed: %s", type(exc).__name__)
            return
        for room in rooms:
            now_online = online.get(room.name, set())
            gone = room.known_online - now_online
            room.known_online = set(now_online)
            for user_id in gone:
                ref = room.refs.get(user_id) or UserRef(id=user_id, role="", name="")
                frame = Outgoing(encode_json(Presence(room=room.name, user=ref, online=False)))
                self.hub.deliver_local(room.name, frame)
