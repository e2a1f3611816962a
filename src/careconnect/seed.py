"""``careconnect seed``: a living dev database, with printed logins.

Doctors with weekly hours, patients, and appointments in every state (booked, checked in,
in progress with a few messages, completed with notes and a summary, cancelled, no-show),
so ``make run`` shows a system in use. ``--load N`` adds N open consultations (a doctor
and a patient each, admitted and writable) for the load tester and prints them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from careconnect.cli import command
from careconnect.settings import Settings

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


async def _user(email: str, name: str, role: str, timezone: str, specialty: str | None = None) -> str:
    from careconnect.domain.accounts.schemas import DoctorInfo
    from careconnect.domain.accounts.users import create_user
    from careconnect.tables import User

    row = await User.select(User.id).where(User.email == email).first()
    if row is not None:
        return str(row["id"])
    doctor = (
        DoctorInfo(specialty=specialty, bio=f"{name} sees patients online.", languages=["en"]) if specialty else None
    )
    created = await create_user(
        email=email, password=PASSWORD, full_name=name, role=role, timezone=timezone, doctor=doctor
    )
    return str(created["id"])


async def _availability(
    doctor_id: str, timezone: str, weekly: list[dict[str, Any]] = ALL_WEEK, notice: int = 30
) -> None:
    from careconnect.tables import Availability

    values = {
        "timezone": timezone,
        "slot_minutes": 20,
        "min_notice_minutes": notice,
        "horizon_days": 60,
        "weekly": weekly,
        "exceptions": [],
        "updated_at": dt.datetime.now(UTC),
    }
    if await Availability.exists().where(Availability.doctor == doctor_id):
        await Availability.update({getattr(Availability, k): v for k, v in values.items()}).where(
            Availability.doctor == doctor_id
        )
    else:
        await Availability(doctor=doctor_id, **values).save()


async def _appointment(patient: str, doctor: str, starts: dt.datetime, status: str, reason: str) -> str:
    from careconnect.tables import Appointment

    appointment_id = str(uuid.uuid4())
    await Appointment(
        id=appointment_id,
        patient=patient,
        doctor=doctor,
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=20),
        status=status,
        reason=reason,
        created_at=dt.datetime.now(UTC),
        cancelled_reason="Feeling better" if status == "cancelled" else None,
    ).save()
    return appointment_id


async def _seed(settings: Settings, load: int, out: str) -> int:
    from careconnect.db import bind_tables, engine_from_url, is_postgres
    from careconnect.domain.accounts import sessions
    from careconnect.domain.consultations.chat_store import sql_message_store
    from careconnect.hub.store import NewMessage
    from careconnect.security import issue_access_token
    from careconnect.tables import Appointment, ConsultationNote, ConsultationSummary, User

    engine = engine_from_url(settings.database_url)
    bind_tables(engine)
    if is_postgres(engine):
        await engine.start_connection_pool()  # type: ignore[attr-defined]
    store = sql_message_store(settings.database_url)
    await store.start()
    try:
        doctors = []
        for i, (name, specialty, zone) in enumerate(DOCTORS, start=1):
            doctor_id = await _user(f"doctor{i}@example.com", name, "doctor", zone, specialty)
            await _availability(doctor_id, zone)
            doctors.append(doctor_id)
        patients = [
            await _user(f"patient{i}@example.com", name, "patient", zone) for i, (name, zone) in enumerate(PATIENTS, 1)
        ]
        if not await Appointment.exists().where(Appointment.patient == patients[0]):
            now = dt.datetime.now(UTC).replace(second=0, microsecond=0)
            d, p = doctors[0], patients
            await _appointment(p[0], d, now + dt.timedelta(days=1, hours=1), "booked", "Persistent cough")
            await _appointment(p[1], d, now + dt.timedelta(minutes=15), "checked_in", "Follow-up on blood tests")
            live = await _appointment(p[2], d, now - dt.timedelta(minutes=5), "in_progress", "Headaches")
            past = await _appointment(p[0], d, now - dt.timedelta(days=7), "completed", "Sore throat")
            await _appointment(p[1], doctors[1], now - dt.timedelta(days=3), "cancelled", "Palpitations")
            await _appointment(p[2], doctors[2], now - dt.timedelta(days=2), "no_show", "Rash")
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
        rooms = []
        for i in range(load):
            doctor = await _user(
                f"load-doctor-{i}@example.com", f"Load Doctor {i}", "doctor", "UTC", "General practice"
            )
            patient = await _user(f"load-patient-{i}@example.com", f"Load Patient {i}", "patient", "UTC")
            existing = (
                await Appointment.select(Appointment.id)
                .where((Appointment.patient == patient) & (Appointment.status == "in_progress"))
                .first()
            )
            aid = (
                str(existing["id"])
                if existing
                else await _appointment(
                    patient, doctor, dt.datetime.now(UTC).replace(second=0, microsecond=0), "in_progress", "load test"
                )
            )
            tokens = []
            for user_id, role, name in (
                (patient, "patient", f"Load Patient {i}"),
                (doctor, "doctor", f"Load Doctor {i}"),
            ):
                session_id, _ = await sessions.open_session(user_id, kind="client", refresh_days=1)
                token, _ = issue_access_token(settings, user_id=user_id, role=role, session_id=session_id, name=name)
                tokens.append(token)
            rooms.append({"room": f"consultation:{aid}", "tokens": tokens})
    finally:
        await store.close()
        if is_postgres(engine):
            await engine.close_connection_pool()  # type: ignore[attr-defined]
    print("Seeded. Sign in at http://127.0.0.1:8000 with password", repr(PASSWORD), "as:")
    for i, (name, specialty, _) in enumerate(DOCTORS, 1):
        print(f"  doctor{i}@example.com   {name} ({specialty})")
    for i, (name, _) in enumerate(PATIENTS, 1):
        print(f"  patient{i}@example.com  {name}")
    if load:
        payload = json.dumps({"rooms": rooms})
        if out:
            Path(out).write_text(payload)  # noqa: ASYNC240 - one small file at the end of a CLI run
            print(f"{load} open consultations for load tests written to {out}")
        else:
            print(payload)
    return 0
