"""The CareConnect hub: rooms, durable ordered messages, presence and fan-out across workers.

A library: it imports nothing from the application. Wire it with the application's
``Authenticator``, ``RoomPolicy`` and ``MessageStore``, a broker and a presence manager::

    hub = Hub(authenticator=MyAuth(), policy=MyRooms(), store=MemoryStore(),
              broker=MemoryBroker(), presence=MemoryPresence())
    app = Litestar(plugins=[HubPlugin(hub)])          # serves GET /ws
    await hub.publish_event("user:42", RoomState(room="consultation:7", state="in_progress"))

With Redis: ``RedisBroker(url)`` and ``RedisPresence(url, worker_id=broker.worker_id)``.
"""

from __future__ import annotations

from careconnect.hub.brokers import Broker, MemoryBroker, MemoryBus
from careconnect.hub.hub import Hub, HubSettings, HubStats
from careconnect.hub.plugin import HubPlugin
from careconnect.hub.policy import Authenticator, AuthFailed, Principal, RoomDenied, RoomInfo, RoomPolicy
from careconnect.hub.presence import MemoryPresence, PresenceManager, RedisPresence
from careconnect.hub.protocol import AppointmentEvent, RoomState, UserRef
from careconnect.hub.store import MemoryStore, MessageStore, NewMessage, StoredMessage

__all__ = (
    "AppointmentEvent",
    "AuthFailed",
    "Authenticator",
    "Broker",
    "Hub",
    "HubPlugin",
    "HubSettings",
    "HubStats",
    "MemoryBroker",
    "MemoryBus",
    "MemoryPresence",
    "MemoryStore",
    "MessageStore",
    "NewMessage",
    "PresenceManager",
    "Principal",
    "RedisPresence",
    "RoomDenied",
    "RoomInfo",
    "RoomPolicy",
    "RoomState",
    "StoredMessage",
    "UserRef",
)
