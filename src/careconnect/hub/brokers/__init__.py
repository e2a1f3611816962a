"""Brokers carry encoded frames between workers; they never decode them."""

from __future__ import annotations

from careconnect.hub.brokers.base import (
    Broker,
    BrokerHandler,
    NotifiesPeer,
    NotifiesPublishFailure,
    NotifiesReconnect,
    PublishesNowait,
)
from careconnect.hub.brokers.memory import MemoryBroker, MemoryBus

__all__ = (
    "Broker",
    "BrokerHandler",
    "MemoryBroker",
    "MemoryBus",
    "NotifiesPeer",
    "NotifiesPublishFailure",
    "NotifiesReconnect",
    "PublishesNowait",
)
