"""careconnect-client: an async client for the CareConnect Live hub (docs/client.md)."""

from careconnect_client.backoff import Backoff
from careconnect_client.client import ClientStats, HubClient
from careconnect_client.errors import AuthError, Closed, ConnectError, HubError, ProtocolError, Rejected, Timeout
from careconnect_client.frames import (
    Ack,
    Appointment,
    Attachment,
    Error,
    Event,
    Invited,
    Joined,
    Member,
    Message,
    Notification,
    Presence,
    Read,
    RoomState,
    Signal,
    Typing,
    UnknownFrame,
    User,
    Welcome,
)
from careconnect_client.room import Room
from careconnect_client.tokens import TokenProvider

__all__ = (
    "Ack",
    "Appointment",
    "Attachment",
    "AuthError",
    "Backoff",
    "ClientStats",
    "Closed",
    "ConnectError",
    "Error",
    "Event",
    "HubClient",
    "HubError",
    "Invited",
    "Joined",
    "Member",
    "Message",
    "Notification",
    "Presence",
    "ProtocolError",
    "Read",
    "Rejected",
    "Room",
    "RoomState",
    "Signal",
    "Timeout",
    "TokenProvider",
    "Typing",
    "UnknownFrame",
    "User",
    "Welcome",
)
