"""Appointments as the API shows them, the list pages, and the intake questionnaire.

The class names are the OpenAPI component names (``AppointmentOut``, ``IntakeIn``, ...):
renaming one changes the public contract.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from careconnect.hub.bounds import NONBLANK_TEXT_PATTERN as NONBLANK_TEXT
from careconnect.hub.bounds import TEXT_PATTERN as TEXT

Scope = Literal["upcoming", "past"]
Status = Literal["booked", "checked_in", "in_progress", "completed", "cancelled", "no_show"]


class PersonRef(msgspec.Struct, kw_only=True):
    id: str
    full_name: str


class DoctorRef(msgspec.Struct, kw_only=True):
    id: str
    full_name: str
    specialty: str


class AppointmentOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    patient: PersonRef
    doctor: DoctorRef
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    reason: str
    created_at: dt.datetime
    intake_submitted: bool
    cancelled_reason: str | None = None


class AppointmentPage(msgspec.Struct, kw_only=True):
    items: list[AppointmentOut]
    next_cursor: str | None


Item = Annotated[str, Meta(min_length=1, max_length=200, pattern=NONBLANK_TEXT)]
Items = Annotated[list[Item], Meta(max_length=50)]


class IntakeIn(msgspec.Struct, kw_only=True):
    chief_complaint: Annotated[str, Meta(min_length=1, max_length=500, pattern=NONBLANK_TEXT)]
    symptoms: Items = []
    symptom_duration: Annotated[str, Meta(max_length=100, pattern=TEXT)] | None = None
    medications: Items = []
    allergies: Items = []
    conditions: Items = []
    notes: Annotated[str, Meta(max_length=4000, pattern=TEXT)] | None = None
    consent_to_treatment: Literal[True]


class IntakeOut(IntakeIn, kw_only=True):
    submitted_at: dt.datetime
    updated_at: dt.datetime
