"""The durable outbox: jobs written in the transaction of the event that causes them, carried
out later by a worker (docs/notifications.md), and the lease that makes one claimer on SQLite."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class OutboxJob(Table, tablename="cc_outbox_job"):
    """One job: a mail to send now or at ``due_at`` (a reminder), or any other registered kind.

    ``dedupe_key`` is unique: an event retried writes no second job. ``status`` goes
    ``pending`` -> ``sent`` | ``skipped`` | ``failed`` | ``cancelled``. While a worker holds it,
    ``claimed_until`` is in the future and ``claim_token`` names that claim; a claim that lapses
    (the worker died) makes the job claimable again. ``run_at`` is the next attempt's time,
    ``due_at`` the first one's (the give-up limit counts from it).
    """

    id = UUID(primary_key=True)
    kind = Varchar(length=64)
    payload = JSON(default={})
    dedupe_key = Varchar(length=255, unique=True)
    topic = Varchar(length=255, null=True, default=None, index=True)
    status = Varchar(length=16, default="pending", index=True)
    due_at = Timestamptz()
    run_at = Timestamptz()
    attempts = Integer(default=0)
    last_error = Text(null=True, default=None)
    claimed_until = Timestamptz(null=True, default=None)
    claim_token = Varchar(length=32, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class OutboxLease(Table, tablename="cc_outbox_lease"):
    """Who may claim jobs on SQLite (one claimer at a time); taken and renewed by one UPDATE."""

    name = Varchar(length=64, primary_key=True)
    holder = Varchar(length=64, null=True, default=None)
    held_until = Timestamptz(null=True, default=None)
