"""Fixtures for the outbox: the test's own engine bound to the migrated SQLite or PostgreSQL
database (both, through ``database_url``), a clock the test moves, and visits to mail about."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from careconnect.db import bind_tables, engine_from_url
from careconnect.domain.notifications.claims import claims_for
from careconnect.domain.notifications.jobs import JobHandler
from careconnect.domain.notifications.mailing import MAIL, MailHandler
from careconnect.domain.notifications.outbox import OutboxStats
from careconnect.domain.notifications.schemas import Recipient, Visit
from careconnect.domain.notifications.sealing import SecretBox
from careconnect.domain.notifications.templates import Renderer
from careconnect.domain.notifications.worker import OutboxWorker, RetryPolicy
from careconnect.mail import MailTransport
from careconnect.tables import ALL_TABLES, Appointment, User
from careconnect.tables.outbox import OutboxJob, OutboxLease
from tests.conftest import TEST_SECRET

PUBLIC = "https://care.example.org"
SENDER = "CareConnect Live <no-reply@care.example.org>"


class Clock:
    """The time as the test sets it; ``advance`` moves it."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


@asynccontextmanager
async def bound(database_url: str, *, empty_after: bool = True) -> AsyncIterator[Engine[Any]]:
    """The tables bound to an engine of this test's own (restored afterwards), the outbox emptied
    before and (unless ``empty_after`` is false) after."""
    engine = engine_from_url(database_url)
    before = {table: table._meta.db for table in ALL_TABLES}
    bind_tables(engine)
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=10)
    await OutboxJob.delete(force=True)
    await OutboxLease.delete(force=True)
    try:
        yield engine
    finally:
        if empty_after:  # nothing left for the workers of other tests' apps, which share these databases
            await OutboxJob.delete(force=True)
        if isinstance(engine, PostgresEngine):
            await engine.close_connection_pool()
        for table, previous in before.items():
            table._meta.db = previous


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Engine[Any]]:
    """Once on SQLite, once on PostgreSQL."""
    async with bound(database_url) as engine:
        yield engine


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[Engine[Any]]:
    """PostgreSQL only."""
    async with bound(postgres_url) as engine:
        yield engine


@pytest.fixture
def clock() -> Clock:
    return Clock()


def mail_handler(transport: MailTransport, clock: Clock) -> MailHandler:
    return MailHandler(transport, Renderer(PUBLIC, SENDER), SecretBox(TEST_SECRET), sender=SENDER, clock=clock)


def make_worker(
    engine: Engine[Any],
    clock: Clock,
    *,
    transport: MailTransport | None = None,
    kinds: dict[str, JobHandler] | None = None,
    lease_s: float = 60.0,
    policy: RetryPolicy | None = None,
    stats: OutboxStats | None = None,
    concurrency: int = 4,
) -> OutboxWorker:
    handlers: dict[str, JobHandler] = dict(kinds or {})
    if transport is not None:
        handlers[MAIL] = mail_handler(transport, clock)
    return OutboxWorker(
        claims_for(engine, f"test-{uuid.uuid4().hex[:8]}"),
        handlers,
        stats=stats or OutboxStats(),
        policy=policy or RetryPolicy(base_s=10, max_s=60, give_up_s=3600),
        lease_s=lease_s,
        concurrency=concurrency,
        clock=clock,
    )


async def add_visit(starts_at: dt.datetime, *, status: str = "booked") -> tuple[Visit, Recipient, Recipient]:
    """A patient, a doctor and an appointment between them, as rows and as mails see them."""
    patient_id, doctor_id, appointment_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    for user_id, role, name in ((patient_id, "patient", "Pat Example"), (doctor_id, "doctor", "Dr Ada")):
        await User.insert(
            User(
                id=user_id,
                email=f"{role}-{user_id.hex[:8]}@example.com",
                full_name=name,
                role=role,
                timezone="Europe/Paris",
                created_at=now,
            )
        )
    await Appointment.insert(
        Appointment(
            id=appointment_id,
            patient=patient_id,
            doctor=doctor_id,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(minutes=30),
            status=status,
            created_at=now,
        )
    )
    visit = Visit(
        id=str(appointment_id),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=30),
        doctor_name="Dr Ada",
        patient_name="Pat Example",
    )
    patient = Recipient(
        user_id=str(patient_id),
        email=f"patient-{patient_id.hex[:8]}@example.com",
        name="Pat Example",
        timezone="Europe/Paris",
    )
    doctor = Recipient(
        user_id=str(doctor_id), email=f"doctor-{doctor_id.hex[:8]}@example.com", name="Dr Ada", timezone="Europe/Paris"
    )
    return visit, patient, doctor
