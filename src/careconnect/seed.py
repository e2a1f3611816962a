"""``careconnect seed``: a living dev database, with printed logins.

Doctors with weekly hours, patients, and appointments in every state (booked, checked in,
in progress with a few messages, completed with notes and a summary, cancelled, no-show),
so ``make run`` shows a system in use. ``--load N`` adds N open consultations (a doctor
and a patient each, admitted and writable; ``careconnect.loadtest.rooms.open_in_database``)
for the load tester and prints them as a rooms file.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import uuid
from typing import TYPE_CHECKING

from careconnect.cli import command
from careconnect.loadtest.rooms import add_appointment, ensure_user, open_in_database, rooms_json, write_rooms_file
from careconnect.settings import Settings

if TYPE_CHECKING:
    from piccolo.columns import Column

PASSWORD = "careconnect-demo"
UTC = dt.UTC
ALL_WEEK = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(5)]
DOCTORS = [
    ("Dr Ada Lovelace", "General practice", "Europe/London"),
    ("Dr Grace Hopper", "Cardiology", "America/New_York"),
    ("Dr Rosalind Franklin", "Dermatology", "Europe/Paris"),
]
PATIENTS = [
    ("Alan Turing", "Europe/London"),
    ("Katherine Johnson", "America/New_York"),
    ("Marie Curie", "Europe/Paris"),
]


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--load", type=int, default=0, help="also create N open consultations for load tests")
    parser.add_argument("--out", default="", help="write the load rooms and tokens as JSON to this file")


@command("seed", "fill a dev database with doctors, patients and appointments", _args)
def seed(args: argparse.Namespace, settings: Settings) -> int:
    if settings.environment == "production":
        print(
            "careconnect seed: refused: CARECONNECT_ENV is production, and the seed makes accounts with "
            "known passwords (run it against a development database)",
            file=sys.stderr,
        )
        return 2
    if args.load < 0 or args.load > 20_000:
        print("--load must be between 0 and 20000", file=sys.stderr)
        return 2
    return asyncio.run(_seed(settings, args.load, args.out))


async def _availability(doctor_id: str, timezone: str) -> None:
    """Weekdays 08:00-18:00 in the doctor's zone, 20-minute slots, 30 minutes' notice."""
    from careconnect.tables import Availability

    columns: dict[Column | str, object] = {
        Availability.timezone: timezone,
        Availability.slot_minutes: 20,
        Availability.min_notice_minutes: 30,
        Availability.horizon_days: 60,
        Availability.weekly: ALL_WEEK,
        Availability.exceptions: [],
        Availability.updated_at: dt.datetime.now(UTC),
    }
    if not await Availability.exists().where(Availability.doctor == doctor_id):
        await Availability(doctor=doctor_id).save()
    await Availability.update(columns).where(Availability.doctor == doctor_id)


async def _seed(settings: Settings, load: int, out: str) -> int:
    from careconnect.db import bind_tables, engine_from_url, is_postgres
    from careconnect.domain.consultations.chat_store import sql_message_store
    from careconnect.hub.store import NewMessage
    from careconnect.tables import Appointment, ConsultationNote, ConsultationSummary, User

    engine = engine_from_url(settings.database_url, pool_mode=settings.database_pool_mode)
    bind_tables(engine)
    if is_postgres(engine):
        await engine.start_connection_pool()  # type: ignore[no-untyped-call]
    store = sql_message_store(settings.database_url, pool_mode=settings.database_pool_mode)
    await store.start()
    try:
        doctors = []
        for i, (name, specialty, zone) in enumerate(DOCTORS, start=1):
            doctor_id = await ensure_user(
                f"doctor{i}@example.com", name, "doctor", zone, password=PASSWORD, specialty=specialty
            )
            await _availability(doctor_id, zone)
            doctors.append(doctor_id)
        patients = [
            await ensure_user(f"patient{i}@example.com", name, "patient", zone, password=PASSWORD)
            for i, (name, zone) in enumerate(PATIENTS, 1)
        ]
        if not await Appointment.exists().where(Appointment.patient == patients[0]):
            now = dt.datetime.now(UTC).replace(second=0, microsecond=0)
            d, p = doctors[0], patients
            await add_appointment(p[0], d, now + dt.timedelta(days=1, hours=1), "booked", "Persistent cough")
            await add_appointment(p[1], d, now + dt.timedelta(minutes=15), "checked_in", "Follow-up on blood tests")
            live = await add_appointment(p[2], d, now - dt.timedelta(minutes=5), "in_progress", "Headaches")
            past = await add_appointment(p[0], d, now - dt.timedelta(days=7), "completed", "Sore throat")
            await add_appointment(p[1], doctors[1], now - dt.timedelta(days=3), "cancelled", "Palpitations")
            await add_appointment(p[2], doctors[2], now - dt.timedelta(days=2), "no_show", "Rash")
            stamp = dt.datetime.now(UTC)
            await ConsultationNote(
                appointment=past, doctor=d, text="Viral pharyngitis. No antibiotics.", version=1, updated_at=stamp
            ).save()
            await ConsultationSummary(
                appointment=past, author=d, text="Rest, fluids, paracetamol if needed.", version=1, updated_at=stamp
            ).save()
            names = {r["id"]: r["full_name"] for r in await User.select(User.id, User.full_name)}
            room = f"consultation:{live}"
            await store.append_batch(
                [
                    NewMessage(
                        room=room,
                        client_id="seed-1",
                        sender_id=p[2],
                        sender_role="patient",
                        sender_name=names.get(uuid.UUID(p[2]), "Patient"),
                        body="Hello, the headaches started on Monday.",
                    ),
                    NewMessage(
                        room=room,
                        client_id="seed-2",
                        sender_id=d,
                        sender_role="doctor",
                        sender_name=names.get(uuid.UUID(d), "Doctor"),
                        body="Thanks. Any nausea or light sensitivity?",
                    ),
                ]
            )
        # PostgreSQL takes several at once; SQLite has one writer, and a second would wait or fail
        rooms = await open_in_database(settings, load, password=PASSWORD, concurrency=8 if is_postgres(engine) else 1)
    finally:
        await store.close()
        if is_postgres(engine):
            await engine.close_connection_pool()  # type: ignore[no-untyped-call]
    print("Seeded. Sign in at http://127.0.0.1:8000 with password", repr(PASSWORD), "as:")
    for i, (name, specialty, _) in enumerate(DOCTORS, 1):
        print(f"  doctor{i}@example.com   {name} ({specialty})")
    for i, (name, _) in enumerate(PATIENTS, 1):
        print(f"  patient{i}@example.com  {name}")
    if load:
        if out:
            write_rooms_file(out, rooms)
            print(f"{load} open consultations for load tests written to {out}")
        else:
            print(rooms_json(rooms).decode())
    return 0
