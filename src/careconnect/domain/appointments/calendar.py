"""An appointment as an RFC 5545 calendar file (``GET /appointments/{id}/calendar.ics``)."""

from __future__ import annotations

import datetime as dt

import msgspec

from careconnect.domain.appointments.schemas import AppointmentOut


class CalendarFile(msgspec.Struct, frozen=True, kw_only=True):
    """The file's name (for ``Content-Disposition``) and its bytes."""

    filename: str
    content: bytes


def calendar_file(appointment: AppointmentOut) -> CalendarFile:
    """One VEVENT: start and end in UTC, the doctor in the summary, CANCELLED once cancelled."""
    from icalendar import Calendar, Event  # imported on first use: it costs a worker ~12 MB of RSS

    calendar = Calendar()
    calendar.add("prodid", "-//CareConnect Live//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"{appointment.id}@careconnect")
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", f"Consultation with {appointment.doctor.full_name}")
    event.add("description", f"{appointment.doctor.specialty}: {appointment.reason}".strip(": "))
    event.add("status", "CANCELLED" if appointment.status == "cancelled" else "CONFIRMED")
    calendar.add_component(event)
    return CalendarFile(filename=f"appointment-{appointment.id}.ics", content=bytes(calendar.to_ical()))
