"""The ``.ics`` attached to visit mails (RFC 5545, with iTIP's METHOD from RFC 5546).

One visit is one event for its whole life: the UID is the appointment's (the same as
``GET /appointments/{id}/calendar.ics``), so a calendar that holds the booking updates it when a
reschedule (higher SEQUENCE) or a cancellation (METHOD:CANCEL, STATUS:CANCELLED) arrives.
Times are written in UTC (``…Z``), which every calendar converts to its own zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from careconnect.domain.notifications.schemas import Recipient, Visit
from careconnect.mail import Attachment

SEQUENCE_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def sequence_at(changed_at: dt.datetime) -> int:
    """A SEQUENCE for a change made at ``changed_at``: whole seconds since 2025, so each later
    change has a higher one without a counter column (it fits RFC 5545's integer until 2093)."""
    return max(1, int((changed_at - SEQUENCE_EPOCH).total_seconds()))


def uid_of(appointment_id: str) -> str:
    return f"{appointment_id}@careconnect"


def visit_calendar(
    visit: Visit,
    *,
    method: Literal["REQUEST", "CANCEL"],
    sequence: int,
    url: str,
    organizer: str,
    attendee: Recipient,
    now: dt.datetime,
) -> Attachment:
    """The visit as a one-event calendar, ready to attach as ``visit.ics``."""
    from icalendar import Calendar, Event, vCalAddress, vText  # imported on first use: ~12 MB of RSS

    calendar = Calendar()
    calendar.add("prodid", "-//CareConnect Live//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid_of(visit.id))
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("dtstart", visit.starts_at.astimezone(dt.UTC))
    event.add("dtend", visit.ends_at.astimezone(dt.UTC))
    event.add("sequence", sequence)
    event.add("summary", f"Consultation with {visit.doctor_name}")
    event.add("description", f"Join the video visit: {url}")
    event.add("url", url)
    event.add("location", url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer_address = vCalAddress(f"mailto:{organizer}")
    organizer_address.params["cn"] = vText("CareConnect Live")
    event.add("organizer", organizer_address)
    attendee_address = vCalAddress(f"mailto:{attendee.email}")
    attendee_address.params["cn"] = vText(attendee.name)
    attendee_address.params["role"] = vText("REQ-PARTICIPANT")
    event.add("attendee", attendee_address)
    calendar.add_component(event)
    return Attachment(
        filename="visit.ics",
        content_type="text/calendar",
        data=bytes(calendar.to_ical()),
        params={"method": method, "charset": "utf-8"},
    )
