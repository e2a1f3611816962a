"""Notifications: mails (and later other jobs) written to a durable outbox in the transaction
of the event that causes them, and carried out by a worker in every server process.

Start with ``mailing.Mailer`` (queue a mail) and docs/notifications.md; ``outbox.Outbox`` is
the general write side, ``jobs.JobKinds`` where a new kind of job registers its handler.
"""

from __future__ import annotations

from careconnect.domain.notifications.jobs import GiveUp, JobHandler, JobKinds, Outcome, Sent, Skipped
from careconnect.domain.notifications.mailing import MAIL, Mailer, MailHandler
from careconnect.domain.notifications.outbox import Job, JobRecord, Outbox, OutboxStats
from careconnect.domain.notifications.schemas import MailJob, Recipient, Visit
from careconnect.domain.notifications.visits import VisitParties, visit_parties
from careconnect.domain.notifications.worker import OutboxWorker, RetryPolicy

__all__ = (
    "MAIL",
    "GiveUp",
    "Job",
    "JobHandler",
    "JobKinds",
    "JobRecord",
    "MailHandler",
    "MailJob",
    "Mailer",
    "Outbox",
    "OutboxStats",
    "OutboxWorker",
    "Outcome",
    "Recipient",
    "RetryPolicy",
    "Sent",
    "Skipped",
    "Visit",
    "VisitParties",
    "visit_parties",
)
