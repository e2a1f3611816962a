"""Piccolo tables, one module per area; ``ALL_TABLES`` is what the Piccolo app registers."""

from __future__ import annotations

from careconnect.tables.accounts import (
    AccountToken,
    AuthSession,
    DoctorProfile,
    Integration,
    RefreshToken,
    User,
)
from careconnect.tables.attachments import Attachment, BlobChunk
from careconnect.tables.audit import AuditEntry
from careconnect.tables.chat import ChatMessage, ChatRoom
from careconnect.tables.consultation import ConsultationNote, ConsultationSummary, RoomBot  # noqa: I001
from careconnect.tables.mfa import MfaChallenge, RecoveryCode
from careconnect.tables.notifications import Notification, NotificationPreference
from careconnect.tables.outbox import OutboxJob, OutboxLease
from careconnect.tables.scheduling import Appointment, Availability, BookingKey, Intake
from careconnect.tables.webhooks import Webhook

ALL_TABLES = (
    User,
    DoctorProfile,
    AuthSession,
    RefreshToken,
    Integration,
    AccountToken,
    RecoveryCode,
    MfaChallenge,
    AuditEntry,
    ChatRoom,
    ChatMessage,
    Availability,
    Appointment,
    BookingKey,
    Intake,
    ConsultationNote,
    ConsultationSummary,
    RoomBot,
    OutboxJob,
    OutboxLease,
    Notification,
    NotificationPreference,
    Attachment,
    BlobChunk,
    Webhook,
)

__all__ = (
    "ALL_TABLES",
    "AccountToken",
    "Attachment",
    "BlobChunk",
    "Appointment",
    "Availability",
    "BookingKey",
    "ConsultationNote",
    "ConsultationSummary",
    "Intake",
    "RoomBot",
    "AuditEntry",
    "AuthSession",
    "ChatMessage",
    "ChatRoom",
    "DoctorProfile",
    "Integration",
    "MfaChallenge",
    "RecoveryCode",
    "RefreshToken",
    "User",
    "Webhook",
)
