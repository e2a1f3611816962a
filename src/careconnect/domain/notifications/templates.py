"""Every mail's words in one place: ``templates/<name>.txt`` and ``<name>.html`` (Jinja2, the
HTML autoescaped: a name like ``<b>Eve</b>`` arrives as text), the subjects here.

Each mail is written twice, as plain text and as accessible HTML (``lang``, a title, one
heading, links whose words say where they go and the address spelled out beside them, no
images, remote or inline, and colours with at least 7:1 contrast). Times are shown in the
recipient's time zone and named with it; the ``.ics`` carries them in UTC. Mails about visits
say who and when, never why (the reason, notes and summary stay behind the sign-in).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from careconnect.domain.notifications.ics import visit_calendar
from careconnect.domain.notifications.schemas import (
    CHECK_IN_OPENS_BEFORE,
    BookingConfirmation,
    EmailVerification,
    MailJob,
    PasswordReset,
    Recipient,
    SummaryReady,
    Visit,
    VisitCancelled,
    VisitReminder,
    VisitRescheduled,
)
from careconnect.mail import Attachment, MailContent
from careconnect.mail.message import address_of

PRODUCT = "CareConnect Live"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
VERIFY_PATH = "/verify-email"  # the web pages the links open (?token=...)
RESET_PATH = "/reset-password"


class MissingSecret(ValueError):
    """A verification or reset mail whose token could not be unsealed: it cannot be sent."""


class Renderer:
    """Turns a ``MailJob`` into the subject, text, HTML and attachments of one mail.

    Args:
        public_url: the web app's address, which every link starts with (``PUBLIC_URL``).
        mail_from: the sender (``MAIL_FROM``), also the ``.ics`` organizer.
    """

    def __init__(self, public_url: str, mail_from: str) -> None:
        self.public_url = public_url.rstrip("/")
        self.organizer = address_of(mail_from)
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, job: MailJob, *, secret: str | None = None, now: dt.datetime | None = None) -> MailContent:
        """The mail for ``job``; ``secret`` is its unsealed token (verification and reset)."""
        now = now or dt.datetime.now(dt.UTC)
        mail, to = job.mail, job.to
        attachments: tuple[Attachment, ...] = ()
        context: dict[str, Any] = {}
        if isinstance(mail, EmailVerification):
            subject, heading = "Confirm your email address", "Confirm your email address"
            context["link"] = self._link(VERIFY_PATH, _needs(secret))
        elif isinstance(mail, PasswordReset):
            subject, heading = f"Reset your {PRODUCT} password", "Reset your password"
            context["link"] = self._link(RESET_PATH, _needs(secret))
        elif isinstance(mail, BookingConfirmation):
            when = self._when(mail.visit.starts_at, to)
            subject = f"Visit booked: {when}" if mail.role == "patient" else f"New booking: {when}"
            heading = "Your visit is booked" if mail.role == "patient" else "A patient booked a visit"
            context["check_in"] = self._check_in(mail.visit.starts_at - CHECK_IN_OPENS_BEFORE, to)
            attachments = (self._ics(mail.visit, "REQUEST", 0, to, now),)
        elif isinstance(mail, VisitRescheduled):
            when = self._when(mail.visit.starts_at, to)
            subject, heading = f"Visit moved to {when}", "Your visit has moved"
            context["previous_when"] = self._when(mail.previous_starts_at, to)
            attachments = (self._ics(mail.visit, "REQUEST", mail.sequence, to, now),)
        elif isinstance(mail, VisitCancelled):
            when = self._when(mail.visit.starts_at, to)
            subject, heading = f"Visit cancelled: {when}", "Your visit was cancelled"
            context["cancelled_by"] = _canceller(mail)
            context["dashboard"] = f"{self.public_url}/{mail.role}/dashboard"
            attachments = (self._ics(mail.visit, "CANCEL", mail.sequence, to, now),)
        elif isinstance(mail, VisitReminder):
            starts = mail.visit.starts_at
            context["when"] = self._relative(starts, to, now)
            context["check_in"] = self._check_in(mail.check_in_opens_at, to)
            subject = f"Reminder: your visit {context['when']}"
            heading = "Your visit is soon"
        elif isinstance(mail, SummaryReady):
            subject, heading = "Your visit summary is ready", "Your visit summary is ready"
            context["when"] = self._date(mail.visit.starts_at, to)
        else:  # pragma: no cover - msgspec decodes only the tagged mails above
            raise TypeError(f"no template for {type(mail).__name__}")
        visit = getattr(mail, "visit", None)
        if isinstance(visit, Visit):
            context.setdefault("link", f"{self.public_url}/consultation/{quote(visit.id)}")
            context.setdefault("when", self._when(visit.starts_at, to))
        context.update(mail=mail, to=to, subject=subject, heading=heading, product=PRODUCT)
        name = type(mail).__struct_config__.tag
        return MailContent(
            subject=subject,
            text=self._env.get_template(f"{name}.txt").render(context),
            html=self._env.get_template(f"{name}.html").render(context),
            attachments=attachments,
        )

    def _link(self, path: str, token: str) -> str:
        return f"{self.public_url}{path}?token={quote(token, safe='')}"

    def _ics(self, visit: Visit, method: str, sequence: int, to: Recipient, now: dt.datetime) -> Attachment:
        url = f"{self.public_url}/consultation/{quote(visit.id)}"
        return visit_calendar(
            visit,
            method="CANCEL" if method == "CANCEL" else "REQUEST",
            sequence=sequence,
            url=url,
            organizer=self.organizer,
            attendee=to,
            now=now,
        )

    @staticmethod
    def _when(instant: dt.datetime, to: Recipient) -> str:
        """``Tuesday 3 March 2026 at 10:00 (Europe/Paris)``."""
        local = instant.astimezone(_zone(to.timezone))
        return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} ({_zone_name(to.timezone)})"

    @staticmethod
    def _date(instant: dt.datetime, to: Recipient) -> str:
        local = instant.astimezone(_zone(to.timezone))
        return f"{local:%A} {local.day} {local:%B %Y}"

    @staticmethod
    def _check_in(instant: dt.datetime, to: Recipient) -> str:
        local = instant.astimezone(_zone(to.timezone))
        return f"at {local:%H:%M} ({_zone_name(to.timezone)})"

    @staticmethod
    def _relative(instant: dt.datetime, to: Recipient, now: dt.datetime) -> str:
        """``today at 10:00 (Europe/Paris)``, ``tomorrow at …`` or the full date."""
        zone = _zone(to.timezone)
        local, today = instant.astimezone(zone), now.astimezone(zone).date()
        days = (local.date() - today).days
        day = "today" if days == 0 else "tomorrow" if days == 1 else f"on {local:%A} {local.day} {local:%B %Y}"
        return f"{day} at {local:%H:%M} ({_zone_name(to.timezone)})"


def _needs(secret: str | None) -> str:
    if not secret:
        raise MissingSecret("this mail's link token is missing or could not be unsealed (was SECRET_KEY changed?)")
    return secret


def _canceller(mail: VisitCancelled) -> str:
    if mail.cancelled_by == mail.role:
        return "you"
    if mail.cancelled_by == "doctor":
        return mail.visit.doctor_name
    if mail.cancelled_by == "patient":
        return mail.visit.patient_name
    return "the clinic"


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _zone_name(name: str) -> str:
    return name if _zone(name) is not dt.UTC else "UTC"
