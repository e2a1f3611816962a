"""Doctors' availability, appointments, booking idempotency keys and intake forms.

Double booking is prevented by the database, not by a read-then-write check: a partial
unique index on (doctor, starts_at) over appointments that are not cancelled (both engines),
and on PostgreSQL an exclusion constraint so one patient's live appointments never overlap
(on SQLite, bookings run in BEGIN IMMEDIATE transactions, which serialise writers, so the
overlap check inside them is safe). See docs/scheduling.md.
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from careconnect.tables.accounts import User


class Availability(Table, tablename="cc_availability"):
    doctor = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True)
    timezone = Varchar(length=64, default="UTC")
    slot_minutes = Integer(default=30)
    min_notice_minutes = Integer(default=60)
    horizon_days = Integer(default=60)
    weekly = JSON(default=[])
    exceptions = JSON(default=[])
    updated_at = Timestamptz()


class Appointment(Table, tablename="cc_appointment"):
    id = UUID(primary_key=True)
    patient = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    doctor = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    status = Varchar(length=16, default="booked", index=True)
    reason = Text(default="")
    created_at = Timestamptz()
    cancelled_reason = Text(null=True, default=None)
    cancelled_by = Varchar(length=16, null=True, default=None)


class BookingKey(Table, tablename="cc_booking_key"):
    """An ``Idempotency-Key``: a retried booking answers the appointment the first one made."""

    patient = ForeignKey(references=User, on_delete=OnDelete.cascade)
    key = Varchar(length=200)
    request_hash = Varchar(length=64)
    appointment = ForeignKey(references=Appointment, on_delete=OnDelete.cascade)
    created_at = Timestamptz()


class Intake(Table, tablename="cc_intake"):
    appointment = ForeignKey(references=Appointment, on_delete=OnDelete.cascade, unique=True)
    data = JSON(default={})
    submitted_at = Timestamptz()
    updated_at = Timestamptz()
