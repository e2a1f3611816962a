"""Presence per user across workers: online in a room while any of their connections is joined.

``MemoryPresence`` serves one process. ``RedisPresence`` keeps one hash per room whose fields
are ``user|worker|connection`` and whose values are expiry times; every worker refreshes its
own fields on a heartbeat (every ``maintenance_s``, 5 s), so the entries of a worker that dies
expire within ``ttl`` (20 s) and the next sweep on a surviving worker (every 5 s) reports
those users offline: within 25 s of the crash, inside the protocol's 30 s. The hash key itself
expires too, so a room nobody refreshes leaves nothing behind in Redis.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from careconnect.hub.brokers.redis import redis_client


class PresenceManager(Protocol):
    """Who is online in a room, across workers. Best effort: the hub survives its failures.

    A user is online in a room while at least one (user, connection) entry for it is alive;
    entries of a worker that stops heartbeating expire.
    """

    async def add(self, room: str, user_id: str, connection_id: str) -> None: ...

    async def remove(self, room: str, user_id: str, connection_id: str) -> None: ...

    async def online(self, room: str) -> set[str]:
        """User ids online in ``room`` on any worker."""
        ...

    async def online_many(self, rooms: list[str]) -> dict[str, set[str]]:
        """``online`` for many rooms in one go (the periodic sweep)."""
        ...

    async def heartbeat(self) -> None:
        """Keep this worker's entries alive (called every few seconds)."""
        ...

    async def close(self) -> None: ...


class MemoryPresence:
    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, set[str]]] = {}

    async def add(self, room: str, user_id: str, connection_id: str) -> None:
        self.rooms.setdefault(room, {}).setdefault(user_id, set()).add(connection_id)

    async def remove(self, room: str, user_id: str, connection_id: str) -> None:
        users = self.rooms.get(room)
        if users is None:
            return
        connections = users.get(user_id)
        if connections is not None:
            connections.discard(connection_id)
            if not connections:
                del users[user_id]
        if not users:
            del self.rooms[room]

    async def online(self, room: str) -> set[str]:
        return set(self.rooms.get(room, ()))

    async def online_many(self, rooms: list[str]) -> dict[str, set[str]]:
        return {room: set(self.rooms.get(room, ())) for room in rooms}

    async def heartbeat(self) -> None:
        return None

    async def close(self) -> None:
        self.rooms.clear()


# Rooms per Redis pipeline in the periodic heartbeat and sweep. One pipeline for 1,000 rooms
# held the event loop for ~100 ms every 5 s (packing and parsing 3,000 commands), which was the
# clinic workload's p99 (docs/benchmarks.md); in chunks, messages flow in between.
CHUNK = 100


class RedisPresence:
    def __init__(self, url: str, worker_id: str, ttl: float = 20.0, *, cluster: bool = False) -> None:
        # Each room's entries are one hash (one key, one slot), so a cluster serves them as is.
        self.redis: Any = redis_client(url, cluster, socket_connect_timeout=2)
        self.worker_id = worker_id
        self.ttl = ttl
        self.mine: dict[str, set[str]] = {}  # room -> fields this worker holds
        # A heartbeat in flight must not re-create a field a concurrent remove just deleted.
        self._lock = asyncio.Lock()

    @staticmethod
    def _key(room: str) -> str:
        return f"cc:presence:{room}"

    async def add(self, room: str, user_id: str, connection_id: str) -> None:
        field = f"{user_id}|{self.worker_id}|{connection_id}"
        self.mine.setdefault(room, set()).add(field)
        await self.redis.hset(self._key(room), field, str(time.time() + self.ttl))
        await self.redis.expire(self._key(room), int(self.ttl * 4))

    async def remove(self, room: str, user_id: str, connection_id: str) -> None:
        field = f"{user_id}|{self.worker_id}|{connection_id}"
        async with self._lock:
            fields = self.mine.get(room)
            if fields is not None:
                fields.discard(field)
                if not fields:
                    del self.mine[room]
            await self.redis.hdel(self._key(room), field)

    async def online(self, room: str) -> set[str]:
        return await self._alive(room, await self.redis.hgetall(self._key(room)))

    async def online_many(self, rooms: list[str]) -> dict[str, set[str]]:
        online: dict[str, set[str]] = {}
        for start in range(0, len(rooms), CHUNK):  # short pipelines: the event loop breathes between them
            chunk = rooms[start : start + CHUNK]
            async with self.redis.pipeline(transaction=False) as pipe:
                for room in chunk:
                    pipe.hgetall(self._key(room))
                replies = await pipe.execute()
            for room, entries in zip(chunk, replies, strict=True):
                online[room] = await self._alive(room, entries)
        return online

    async def _alive(self, room: str, entries: dict[bytes | str, bytes | str]) -> set[str]:
        """The users of unexpired entries; expired ones are deleted on the way."""
        now = time.time()
        users = set()
        stale = []
        for field, expires in entries.items():
            if float(expires) > now:
                name = field.decode() if isinstance(field, bytes) else field
                users.add(name.split("|", 1)[0])
            else:
                stale.append(field)
        if stale:
            await self.redis.hdel(self._key(room), *stale)
        return users

    async def heartbeat(self) -> None:
        expires = str(time.time() + self.ttl)
        async with self._lock:
            rooms = [(room, fields) for room, fields in self.mine.items() if fields]
            for start in range(0, len(rooms), CHUNK):  # short pipelines, as in online_many
                async with self.redis.pipeline(transaction=False) as pipe:
                    for room, fields in rooms[start : start + CHUNK]:
                        pipe.hset(self._key(room), mapping=dict.fromkeys(fields, expires))
                        pipe.expire(self._key(room), int(self.ttl * 4))
                    await pipe.execute()

    async def close(self) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for room, fields in self.mine.items():
                    if fields:
                        pipe.hdel(self._key(room), *fields)
                await pipe.execute()
        finally:
            self.mine.clear()
            await self.redis.aclose()
