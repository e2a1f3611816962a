"""Piccolo tables, one module per area; ``ALL_TABLES`` is what the Piccolo app registers."""

from __future__ import annotations

from careconnect.tables.accounts import (
    AuthSession,
    DoctorProfile,
    Integration,
    RefreshToken,
    User,
)
from careconnect.tables.audit import AuditEntry
from careconnect.tables.chat import ChatMessage, ChatRoom

ALL_TABLES = (User, DoctorProfile, AuthSession, RefreshToken, Integration, AuditEntry, ChatRoom, ChatMessage)

__all__ = (
    "ALL_TABLES",
    "AuditEntry",
    "AuthSession",
    "ChatMessage",
    "ChatRoom",
    "DoctorProfile",
    "Integration",
    "RefreshToken",
    "User",
)
