"""The consultation's own records: private notes, the patient's summary, invited bots.

Notes and summaries carry a ``version`` that every write must name (optimistic concurrency),
so two tabs cannot silently overwrite each other.
"""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from careconnect.tables.accounts import Integration, User
from careconnect.tables.scheduling import Appointment


class ConsultationNote(Table, tablename="cc_consultation_note"):
    """The doctor's private clinical notes for one appointment; never shown to the patient."""

    id = UUID(primary_key=True)
    appointment = ForeignKey(references=Appointment, on_delete=OnDelete.cascade, unique=True)
    doctor = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    text = Text(default="")
    version = Integer(default=1)
    updated_at = Timestamptz()


class ConsultationSummary(Table, tablename="cc_consultation_summary"):
    """The visit summary: the doctor writes it, the patient keeps it."""

    id = UUID(primary_key=True)
    appointment = ForeignKey(references=Appointment, on_delete=OnDelete.cascade, unique=True)
    author = ForeignKey(references=User, on_delete=OnDelete.cascade)
    text = Text(default="")
    version = Integer(default=1)
    updated_at = Timestamptz()


class RoomBot(Table, tablename="cc_room_bot"):
    """A bot integration invited into one consultation room by its doctor."""

    id = UUID(primary_key=True)
    appointment = ForeignKey(references=Appointment, on_delete=OnDelete.cascade, index=True)
    integration = ForeignKey(references=Integration, on_delete=OnDelete.cascade)
    bot_user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    client_id = Varchar(length=64)
    invited_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    invited_at = Timestamptz()
