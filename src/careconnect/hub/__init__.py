"""The CareConnect hub: rooms, durable ordered messages, presence and fan-out across workers.

A library: it imports nothing from the application. The application hands it an
``Authenticator`` (token -> ``Principal``), a ``RoomPolicy`` (who may join / write a room, its
members and state; with ``RoomNames``, each room's one spelling: any other name is ``not_found``),
a ``MessageStore``, a ``Broker`` and a ``PresenceManager``; ``HubPlugin``
mounts ``GET /ws`` and starts / stops everything with the app (sockets get 1012 on shutdown)::

    # The application's own: its sign-in, its rooms' rules and its message tables.
    from myapp.realtime import TokenAuthenticator, ProjectRooms, sql_message_store
    from careconnect.hub import Hub, HubPlugin, HubSettings, MemoryBroker, MemoryPresence, RedisBroker, RedisPresence

    if settings.redis_url:
        broker = RedisBroker(settings.redis_url)
        presence = RedisPresence(settings.redis_url, worker_id=broker.worker_id)
    else:
        broker, presence = MemoryBroker(), MemoryPresence()
    hub = Hub(authenticator=TokenAuthenticator(settings), policy=ProjectRooms(),
              store=sql_message_store(settings.database_url), broker=broker, presence=presence,
              settings=HubSettings(heartbeat_s=25, queue_size=1000))
    app = Litestar(route_handlers=[...], plugins=[HubPlugin(hub)])
    asgi_app = HubFastPath(app, hub)  # serve this: sockets to /ws skip Litestar's middleware

    # From a REST handler, to every worker; the application's own events are ``Frame``
    # subclasses it defines (``class Changed(Frame, tag="changed")``), opaque to the hub:
    await hub.publish_event(f"user:{user_id}", Changed(item=payload))
    await hub.publish_event(room, RoomState(room=room, state="in_progress"))
    await hub.disconnect_user(user_id, 4403)       # account disabled: close everywhere
    await hub.evict(user_id, room)                  # taken out of a room everywhere

Video calls: ``signal`` frames go to one online member of a room, never stored; a policy that
also implements ``SignalPolicy`` decides when a member may signal and hears of each call's start
and end (else ``check_write`` decides).

Per-user send limits across workers: ``Hub(..., send_limiter=RedisSendLimiter(url, 60, 10.0))``
(``hub/limits.py``; without one, each worker counts in memory). ``origin_policy=`` (an
``OriginPolicy``, ``hub/origin.py``) refuses handshakes from foreign pages with HTTP 403.

Metrics: ``hub.stats`` (``HubStats`` counters) and ``hub.counts()`` (open sockets, rooms,
users, broker subscriptions).
"""

from __future__ import annotations

from careconnect.hub.brokers import Broker, MemoryBroker, MemoryBus
from careconnect.hub.brokers.redis import RedisBroker
from careconnect.hub.connection import Overflow
from careconnect.hub.hub import Hub, HubSettings, HubStats
from careconnect.hub.limits import LimiterUnavailable, MemorySendLimiter, RedisSendLimiter, SendLimiter
from careconnect.hub.origin import OriginPolicy
from careconnect.hub.plugin import HubFastPath, HubPlugin
from careconnect.hub.policy import (
    Authenticator,
    AuthFailed,
    Principal,
    RoomDenied,
    RoomInfo,
    RoomNames,
    RoomPolicy,
    SignalPolicy,
)
from careconnect.hub.presence import MemoryPresence, PresenceManager, RedisPresence
from careconnect.hub.protocol import Frame, RoomState, UserRef
from careconnect.hub.store import MemoryStore, MessageStore, NewMessage, StoredMessage, UnstorableMessage

__all__ = (
    "AuthFailed",
    "Authenticator",
    "Broker",
    "Frame",
    "Hub",
    "HubFastPath",
    "HubPlugin",
    "HubSettings",
    "HubStats",
    "LimiterUnavailable",
    "MemoryBroker",
    "MemoryBus",
    "MemoryPresence",
    "MemorySendLimiter",
    "MemoryStore",
    "MessageStore",
    "NewMessage",
    "OriginPolicy",
    "Overflow",
    "PresenceManager",
    "Principal",
    "RedisBroker",
    "RedisPresence",
    "RedisSendLimiter",
    "RoomDenied",
    "RoomInfo",
    "RoomNames",
    "RoomPolicy",
    "RoomState",
    "SendLimiter",
    "SignalPolicy",
    "StoredMessage",
    "UnstorableMessage",
    "UserRef",
)
