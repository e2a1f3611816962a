"""Open writable consultations: the one way the seed, the load tester, the bench and the tests make them.

A writable consultation is a doctor, a patient and an appointment in a slot that starts within
the check-in window, checked in by the patient and started by the doctor: its room
``consultation:<id>`` is ``in_progress`` and both may send. There are two ways to make one,
with the same result (a ``Consultation``: the appointment, and each person's id and token):

- through the public REST API (API.md) of a running server, ``open_consultation(s)``: the load
  tester, the bench and the tests, which must take the path a user takes (register, log in,
  opening hours, a free slot, booking, check-in, start), each step also usable alone;
- straight into the tables, ``open_in_database``: ``careconnect seed --load``, which runs before
  any server is up (``make soak`` seeds, then serves), must be repeatable (it reuses its users
  and their open appointment) and mints tokens with the server's SECRET_KEY instead of logging in.

A rooms file (``{"rooms": [{"room": ..., "tokens": [patient, doctor]}, ...]}``) carries the
result to another process: ``seed --load --out``, ``bench.hub_setup --out``, ``--rooms-file``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import msgspec

if TYPE_CHECKING:
    import httpx

    from careconnect.settings import Settings

API = "/api/v1"
PASSWORD = "load-password-0123"
# Every hour of every day in UTC: a 10-minute grid always has a slot starting within 10 minutes.
EVERY_HOUR = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]
# Check-in opens 15 minutes before the start: a slot this close can be checked in at once.
CHECK_IN_WITHIN = dt.timedelta(minutes=14)
RATE_LIMIT_RETRIES = 8

Role = Literal["patient", "doctor"]
T = TypeVar("T")


class SetupError(RuntimeError):
    """A step the server refused; the message names the call and quotes the answer."""


class RoomSpec(msgspec.Struct, frozen=True):
    """A room and the tokens of its members, patient first: one entry of a rooms file."""

    room: str
    tokens: list[str]


class RoomsFile(msgspec.Struct):
    rooms: list[RoomSpec]


class Person(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Consultation(msgspec.Struct, frozen=True, kw_only=True):
    """An appointment in progress: its room is writable by both people."""

    id: str
    patient: Person
    doctor: Person

    @property
    def room(self) -> str:
        return f"consultation:{self.id}"

    def spec(self) -> RoomSpec:
        return RoomSpec(room=self.room, tokens=[self.patient.token, self.doctor.token])


class _Doctor(msgspec.Struct):
    verification: str = "approved"


class _User(msgspec.Struct):
    id: str
    role: str = ""
    doctor: _Doctor | None = None


class _Login(msgspec.Struct):
    access_token: str
    user: _User


class _Slot(msgspec.Struct):
    starts_at: str


class _Slots(msgspec.Struct):
    slots: list[_Slot]


# -- through the API -----------------------------------------------------------------------------
async def call(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    auth: Mapping[str, str] | None = None,
    expect: int = 200,
    headers: Mapping[str, str] | None = None,
    json: object = None,
    params: Mapping[str, str] | None = None,
) -> Any:
    """One REST call under ``/api/v1`` that must answer ``expect``; returns the JSON body.

    A 429 is retried after its Retry-After (at most 5 s, a few times): setting up hundreds of
    rooms from one address meets the sign-in throttles.
    """
    merged = {**(auth or {}), **(headers or {})}
    for attempt in range(RATE_LIMIT_RETRIES):
        response = await http.request(method, API + path, headers=merged, json=json, params=params)
        if response.status_code == 429:
            await asyncio.sleep(min(float(response.headers.get("Retry-After", "1")), 5) + attempt * 0.1)
            continue
        if response.status_code != expect:
            raise SetupError(f"{method} {API}{path} -> {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None
    raise SetupError(f"{method} {API}{path} stayed rate limited")


async def sign_up(
    http: httpx.AsyncClient,
    role: Role,
    *,
    email: str,
    full_name: str,
    password: str = PASSWORD,
    timezone: str = "UTC",
    forget_cookies: bool = False,
    admin: Mapping[str, str] | None = None,
) -> Person:
    """Register and log in. ``forget_cookies`` drops the refresh cookie the login set (a client
    that signs in hundreds of people never uses it). A doctor the server holds for review is
    approved with ``admin`` (an admin's auth headers) when given."""
    body: dict[str, object] = {
        "email": email,
        "password": password,
        "full_name": full_name,
        "role": role,
        "timezone": timezone,
    }
    if role == "doctor":
        body["doctor"] = {"specialty": "General practice", "bio": "Sees patients online.", "languages": ["en"]}
    await call(http, "POST", "/auth/register", expect=201, json=body)
    answer = await call(http, "POST", "/auth/login", json={"email": email, "password": password})
    login = msgspec.convert(answer, _Login)
    if forget_cookies:
        http.cookies.clear()
    if role == "doctor" and login.user.doctor is not None and login.user.doctor.verification != "approved":
        if admin is None:
            raise SetupError(
                "the server vets new doctors (DOCTOR_REGISTRATION=review, the production default): "
                "give an admin's --admin-email (and its password) to approve the load's doctors"
            )
        await call(http, "POST", f"/admin/doctors/{login.user.id}/approve", auth=admin)
    return Person(id=login.user.id, email=email, token=login.access_token)


async def open_hours(http: httpx.AsyncClient, doctor: Mapping[str, str], *, horizon_days: int = 7) -> None:
    """The doctor (``doctor``: their auth headers) takes 10-minute slots at any hour, UTC, with no notice."""
    hours = {
        "timezone": "UTC",
        "slot_minutes": 10,
        "min_notice_minutes": 0,
        "horizon_days": horizon_days,
        "weekly": EVERY_HOUR,
        "exceptions": [],
    }
    await call(http, "PUT", "/doctors/me/availability", auth=doctor, json=hours)


async def free_slots(
    http: httpx.AsyncClient, doctor_id: str, auth: Mapping[str, str], *, within: dt.timedelta = dt.timedelta(days=1)
) -> list[str]:
    """The doctor's free slots (their ``starts_at``) from a minute from now until ``within``."""
    now = dt.datetime.now(dt.UTC)
    window = {
        "from": (now + dt.timedelta(minutes=1)).isoformat(),  # a few seconds of setup must not make it past
        "to": (now + within).isoformat(),
    }
    answer = await call(http, "GET", f"/doctors/{doctor_id}/slots", auth=auth, params=window)
    return [slot.starts_at for slot in msgspec.convert(answer, _Slots).slots]


async def book(
    http: httpx.AsyncClient, patient: Mapping[str, str], doctor_id: str, starts_at: str, *, reason: str = "Checkup"
) -> dict[str, Any]:
    """The patient books the slot; returns the appointment as the API answers it."""
    appointment = await call(
        http,
        "POST",
        "/appointments",
        auth=patient,
        expect=201,
        headers={"Idempotency-Key": uuid.uuid4().hex},  # a retried 429 books once
        json={"doctor_id": doctor_id, "starts_at": starts_at, "reason": reason},
    )
    return dict(appointment)


async def admit(
    http: httpx.AsyncClient, appointment_id: str, patient: Mapping[str, str], doctor: Mapping[str, str]
) -> None:
    """The patient checks in and the doctor starts the consultation: its room is writable."""
    await call(http, "POST", f"/consultations/{appointment_id}/check-in", auth=patient)
    await call(http, "POST", f"/consultations/{appointment_id}/start", auth=doctor)


async def open_consultation(
    http: httpx.AsyncClient,
    *,
    label: str = "Load",
    number: int = 0,
    run: str | None = None,
    password: str = PASSWORD,
    reason: str = "Load test",
    forget_cookies: bool = False,
    admin: Mapping[str, str] | None = None,
) -> Consultation:
    """One writable consultation through the API, its people named ``Dr <label> <number>`` and
    ``Patient <label> <number>`` (``<label>-<run>-d<number>@example.com``; ``run`` is random
    unless given, so a run never meets an earlier one's accounts)."""
    run = run or secrets.token_hex(4)
    prefix = f"{label.lower()}-{run}"
    doctor = await sign_up(
        http,
        "doctor",
        email=f"{prefix}-d{number}@example.com",
        full_name=f"Dr {label} {number}",
        password=password,
        forget_cookies=forget_cookies,
        admin=admin,
    )
    await open_hours(http, doctor.headers)
    patient = await sign_up(
        http,
        "patient",
        email=f"{prefix}-p{number}@example.com",
        full_name=f"Patient {label} {number}",
        password=password,
        forget_cookies=forget_cookies,
    )
    soon = dt.datetime.now(dt.UTC) + CHECK_IN_WITHIN
    slots = await free_slots(http, doctor.id, patient.headers, within=dt.timedelta(minutes=30))
    ready = [s for s in slots if dt.datetime.fromisoformat(s.replace("Z", "+00:00")) <= soon]
    if not ready:
        raise SetupError(f"doctor {doctor.id} offers no slot within {CHECK_IN_WITHIN}: {slots[:3]}")
    appointment = await book(http, patient.headers, doctor.id, ready[0], reason=reason)
    await admit(http, str(appointment["id"]), patient.headers, doctor.headers)
    return Consultation(id=str(appointment["id"]), patient=patient, doctor=doctor)


def base_urls(base_url: str | Sequence[str]) -> list[str]:
    """One server's base URL, or several's (hosts or workers of one deployment), as a list."""
    urls = [base_url] if isinstance(base_url, str) else list(base_url)
    if not urls:
        raise SetupError("no server URL")
    return urls


async def open_consultations(
    base_url: str | Sequence[str],
    count: int,
    *,
    concurrency: int = 8,
    label: str = "Load",
    password: str = PASSWORD,
    admin: Mapping[str, str] | None = None,
) -> list[Consultation]:
    """``count`` writable consultations on the server at ``base_url``, ``concurrency`` at a time.

    With several base URLs (servers of one deployment) consultation ``i`` is made wholly through
    ``base_url[i % n]``: the API calls are spread round-robin, one consultation's on one server.
    Registration and login hash passwords (argon2): about four hashes, half a second, per room.
    """
    import httpx

    urls = base_urls(base_url)
    run = secrets.token_hex(3)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60, limits=limits)) for url in urls
        ]

        async def one(number: int) -> Consultation:
            return await open_consultation(
                clients[number % len(clients)],
                label=label,
                number=number,
                run=run,
                password=password,
                forget_cookies=True,
                admin=admin,
            )

        return await _at_most(concurrency, count, one)


async def _at_most(concurrency: int, count: int, make: Callable[[int], Awaitable[T]]) -> list[T]:
    """``make(0)`` to ``make(count - 1)``, at most ``concurrency`` at once; the results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def gated(i: int) -> T:
        async with gate:
            return await make(i)

    return list(await asyncio.gather(*(gated(i) for i in range(count))))


async def admin_headers(base_url: str, email: str, password: str) -> dict[str, str]:
    """An admin's auth headers (for approving the load's doctors and cleaning up after it)."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        answer = await call(http, "POST", "/auth/login", json={"email": email, "password": password})
    login = msgspec.convert(answer, _Login)
    if login.user.role != "admin":
        raise SetupError(f"{email} is not an admin")
    return {"Authorization": f"Bearer {login.access_token}"}


async def clean_up(
    base_url: str | Sequence[str],
    consultations: Sequence[Consultation],
    admin: Mapping[str, str],
    *,
    concurrency: int = 8,
) -> int:
    """After a run: each consultation completed by its doctor, each of its people's accounts
    disabled by the admin (their sessions end). Accounts are not deleted: the audit trail and the
    stored messages name them. Returns how many accounts were disabled. Several base URLs share
    the calls round-robin, as ``open_consultations`` does."""
    import httpx

    urls = base_urls(base_url)
    gate = asyncio.Semaphore(concurrency)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60)) for url in urls]

        async def one(number: int, consultation: Consultation) -> int:
            http = clients[number % len(clients)]
            async with gate:
                await call(http, "POST", f"/consultations/{consultation.id}/complete", auth=consultation.doctor.headers)
                for person in (consultation.patient, consultation.doctor):
                    await call(http, "POST", f"/admin/users/{person.id}/disable", auth=admin)
                return 2

        return sum(await asyncio.gather(*(one(i, c) for i, c in enumerate(consultations))))


# -- straight into the tables --------------------------------------------------------------------
async def ensure_user(
    email: str, name: str, role: str, timezone: str, *, password: str, specialty: str | None = None
) -> str:
    """The id of the user with this email, created (a doctor when ``specialty`` is given) if missing."""
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
        email=email, password=password, full_name=name, role=role, timezone=timezone, doctor=doctor, email_verified=True
    )
    return str(created["id"])


async def add_appointment(patient: str, doctor: str, starts: dt.datetime, status: str, reason: str) -> str:
    """An appointment of 20 minutes in any state, written as is (no booking rules): the seed's tool."""
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
        created_at=dt.datetime.now(dt.UTC),
        cancelled_reason="Feeling better" if status == "cancelled" else None,
    ).save()
    return appointment_id


async def open_in_database(
    settings: Settings, count: int, *, password: str = PASSWORD, concurrency: int = 8
) -> list[Consultation]:
    """``count`` consultations in progress, written to the tables the caller has bound.

    Repeatable: the ``i``-th doctor and patient (``load-doctor-<i>@example.com``,
    ``load-patient-<i>@example.com``) and the patient's appointment in progress are reused. Each
    call opens fresh client sessions and signs their access tokens with ``settings``' secret,
    so the server that takes them must run with the same SECRET_KEY.
    """
    from careconnect.domain.accounts import sessions
    from careconnect.security import issue_access_token
    from careconnect.tables import Appointment

    async def one(i: int) -> Consultation:
        doctor_email, patient_email = f"load-doctor-{i}@example.com", f"load-patient-{i}@example.com"
        doctor_name, patient_name = f"Load Doctor {i}", f"Load Patient {i}"
        doctor = await ensure_user(
            doctor_email, doctor_name, "doctor", "UTC", password=password, specialty="General practice"
        )
        patient = await ensure_user(patient_email, patient_name, "patient", "UTC", password=password)
        existing = (
            await Appointment.select(Appointment.id)
            .where((Appointment.patient == patient) & (Appointment.status == "in_progress"))
            .first()
        )
        appointment_id = (
            str(existing["id"])
            if existing
            else await add_appointment(
                patient, doctor, dt.datetime.now(dt.UTC).replace(second=0, microsecond=0), "in_progress", "load test"
            )
        )
        people = []
        for user_id, role, name, email in (
            (patient, "patient", patient_name, patient_email),
            (doctor, "doctor", doctor_name, doctor_email),
        ):
            session_id, _ = await sessions.open_session(user_id, kind="client", refresh_days=1)
            token, _ = issue_access_token(settings, user_id=user_id, role=role, session_id=session_id, name=name)
            people.append(Person(id=user_id, email=email, token=token))
        return Consultation(id=appointment_id, patient=people[0], doctor=people[1])

    # A few at once: each costs two password hashes (on their own threads) and a dozen queries.
    return await _at_most(concurrency, count, one)


# -- rooms files ---------------------------------------------------------------------------------
def rooms_json(consultations: Sequence[Consultation]) -> bytes:
    return msgspec.json.encode(RoomsFile(rooms=[c.spec() for c in consultations]))


def write_rooms_file(path: str | Path, consultations: Sequence[Consultation]) -> None:
    Path(path).write_bytes(rooms_json(consultations))


def read_rooms_file(path: str | Path) -> list[RoomSpec]:
    """The rooms of a rooms file; the bare list older ``bench.hub_setup`` runs wrote is read too."""
    data = msgspec.json.decode(Path(path).read_bytes(), type=RoomsFile | list[RoomSpec])
    return data.rooms if isinstance(data, RoomsFile) else data
