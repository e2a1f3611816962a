"""The doctor directory, a doctor's availability, and free slots, through the API on both databases."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tests.consult_helpers import open_doctor
from tests.helpers import admin, assert_problem, signed_in

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)]


def next_monday_in(zone: ZoneInfo) -> dt.date:
    """A Monday 7 to 13 days ahead in ``zone``: always inside a 30-day horizon, never today."""
    today = dt.datetime.now(zone).date()
    return today + dt.timedelta(days=7 + (7 - today.weekday()) % 7)


def availability(**overrides):
    body = {
        "timezone": "Europe/Paris",
        "slot_minutes": 60,
        "min_notice_minutes": 0,
        "horizon_days": 30,
        "weekly": WEEKDAYS,
        "exceptions": [],
    }
    body.update(overrides)
    return body


async def doctor_named(client, name: str, specialty: str, **extra):
    return await signed_in(
        client, "doctor", full_name=name, doctor={"specialty": specialty, "languages": ["en"]}, **extra
    )


async def test_directory_search_and_pages(client):
    names = ["Ada Lovelace", "Bea Arthur", "Cy Young", "Dee Snider", "Eve Arden"]
    ids = {}
    for name in names:
        user, _ = await doctor_named(client, name, "Dermatology" if name.startswith(("A", "C")) else "Cardiology")
        ids[name] = user["id"]
    _, p = await signed_in(client, "patient", full_name="Zed Patient")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/doctors", params=params, headers=p)).json()
        assert len(page["items"]) <= 2
        seen += [c["full_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names  # by name, each once, patients never listed
    card = (await client.get("/api/v1/doctors", params={"q": "lOVE"}, headers=p)).json()["items"]
    assert [c["id"] for c in card] == [ids["Ada Lovelace"]]
    assert set(card[0]) == {"id", "full_name", "specialty", "bio", "languages", "timezone", "next_available_at"}
    assert card[0]["next_available_at"] is None  # no hours set yet
    derm = (await client.get("/api/v1/doctors", params={"specialty": "dermatology"}, headers=p)).json()["items"]
    assert [c["full_name"] for c in derm] == ["Ada Lovelace", "Cy Young"]
    both = await client.get("/api/v1/doctors", params={"specialty": "Cardiology", "q": "ar"}, headers=p)
    assert [c["full_name"] for c in both.json()["items"]] == ["Bea Arthur", "Eve Arden"]
    wildcard = await client.get("/api/v1/doctors", params={"q": "%"}, headers=p)
    assert len(wildcard.json()["items"]) == 5  # "%" is not a pattern: it is dropped, as if no q
    assert len((await client.get("/api/v1/doctors", params={"q": "_"}, headers=p)).json()["items"]) == 5
    assert_problem(
        await client.get("/api/v1/doctors", params={"cursor": "garbage"}, headers=p), 422, "validation_error"
    )
    assert_problem(await client.get("/api/v1/doctors", params={"limit": 0}, headers=p), 422, "validation_error")
    assert_problem(await client.get("/api/v1/doctors"), 401, "unauthorized")


async def test_disabled_doctors_are_not_listed(client):
    doctor, _ = await open_doctor(client, full_name="Gone Doctor")
    _, p = await signed_in(client, "patient")
    assert (await client.get(f"/api/v1/doctors/{doctor['id']}", headers=p)).status_code == 200
    _, a = await admin(client)
    assert (await client.post(f"/api/v1/admin/users/{doctor['id']}/disable", headers=a)).status_code in (200, 204)
    assert (await client.get("/api/v1/doctors", headers=p)).json()["items"] == []
    assert_problem(await client.get(f"/api/v1/doctors/{doctor['id']}", headers=p), 404, "not_found")
    assert_problem(await client.get(f"/api/v1/doctors/{doctor['id']}/slots", headers=p), 404, "not_found")
    assert_problem(await client.get("/api/v1/doctors/not-an-id", headers=p), 404, "not_found")


async def test_availability_defaults_round_trip_and_validation(client):
    _, d = await signed_in(client, "doctor", timezone="America/New_York")
    got = (await client.get("/api/v1/doctors/me/availability", headers=d)).json()
    assert got["timezone"] == "America/New_York" and got["weekly"] == [] and got["exceptions"] == []
    assert 10 <= got["slot_minutes"] <= 120
    body = availability(
        exceptions=[
            {"date": "2026-12-24"},
            {"date": "2026-12-27", "start": "10:00", "end": "12:00"},
        ]
    )
    put = await client.put("/api/v1/doctors/me/availability", json=body, headers=d)
    assert put.status_code == 200, put.text
    assert put.json() == body
    assert (await client.get("/api/v1/doctors/me/availability", headers=d)).json() == body
    # A second PUT replaces the first.
    again = await client.put("/api/v1/doctors/me/availability", json=availability(slot_minutes=20), headers=d)
    assert again.json()["slot_minutes"] == 20 and again.json()["exceptions"] == []

    async def fields_of(payload):
        response = await client.put("/api/v1/doctors/me/availability", json=payload, headers=d)
        return {e["field"] for e in assert_problem(response, 422, "validation_error")["errors"]}

    assert "timezone" in await fields_of(availability(timezone="Mars/Olympus_Mons"))
    assert await fields_of(availability(slot_minutes=5)) == {"slot_minutes"}
    assert await fields_of(availability(slot_minutes=121)) == {"slot_minutes"}
    assert await fields_of(availability(weekly=[{"weekday": 7, "start": "09:00", "end": "10:00"}])) == {
        "weekly[0].weekday"
    }
    assert await fields_of(availability(weekly=[{"weekday": 0, "start": "9am", "end": "10:00"}])) == {"weekly[0].start"}
    assert await fields_of(availability(weekly=[{"weekday": 0, "start": "10:00", "end": "09:00"}])) == {"weekly[0].end"}
    overlapping = [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "11:00", "end": "13:00"}]
    assert await fields_of(availability(weekly=overlapping)) == {"weekly"}
    assert await fields_of(availability(weekly=[{"weekday": 0, "start": "09:00", "end": "10:00"}] * 101)) == {"weekly"}
    assert await fields_of(availability(exceptions=[{"date": "2026-12-24", "start": "09:00"}])) == {"exceptions[0]"}
    assert await fields_of(availability(exceptions=[{"date": "24/12/2026"}])) == {"exceptions[0].date"}
    # Nothing was stored by the refused PUTs.
    assert (await client.get("/api/v1/doctors/me/availability", headers=d)).json()["slot_minutes"] == 20
    _, p = await signed_in(client, "patient")
    assert_problem(await client.get("/api/v1/doctors/me/availability", headers=p), 403, "forbidden")
    assert_problem(
        await client.put("/api/v1/doctors/me/availability", json=availability(), headers=p), 403, "forbidden"
    )


async def test_slots_are_local_hours_as_utc_instants(client):
    doctor, d = await doctor_named(client, "Paris Doctor", "Cardiology", timezone="Europe/Paris")
    monday = next_monday_in(PARIS)
    tuesday, wednesday = monday + dt.timedelta(days=1), monday + dt.timedelta(days=2)
    body = availability(
        exceptions=[
            {"date": tuesday.isoformat()},  # closed
            {"date": wednesday.isoformat(), "start": "14:00", "end": "15:00"},  # replaced
            {"date": (monday + dt.timedelta(days=5)).isoformat(), "start": "10:00", "end": "11:00"},  # Saturday opened
        ]
    )
    assert (await client.put("/api/v1/doctors/me/availability", json=body, headers=d)).status_code == 200
    _, p = await signed_in(client, "patient", timezone="America/New_York")
    start = dt.datetime.combine(monday, dt.time(0, 0), PARIS)
    response = await client.get(
        f"/api/v1/doctors/{doctor['id']}/slots",
        params={"from": start.isoformat(), "to": (start + dt.timedelta(days=7)).isoformat()},
        headers=p,
    )
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["timezone"] == "Europe/Paris" and got["slot_minutes"] == 60
    assert all(s["starts_at"].endswith("Z") for s in got["slots"])
    local = {}
    for s in got["slots"]:
        starts = dt.datetime.fromisoformat(s["starts_at"])
        assert dt.datetime.fromisoformat(s["ends_at"]) - starts == dt.timedelta(hours=1)
        local.setdefault(starts.astimezone(PARIS).date(), []).append(starts.astimezone(PARIS).strftime("%H:%M"))
    assert local[monday] == ["09:00", "10:00", "11:00"]
    assert tuesday not in local
    assert local[wednesday] == ["14:00"]
    assert local[monday + dt.timedelta(days=5)] == ["10:00"]
    assert monday + dt.timedelta(days=6) not in local
    card = (await client.get(f"/api/v1/doctors/{doctor['id']}", headers=p)).json()
    assert card["timezone"] == "Europe/Paris" and card["next_available_at"] is not None


async def test_slot_range_rules(client):
    doctor, _ = await open_doctor(client)
    _, p = await signed_in(client, "patient")
    url = f"/api/v1/doctors/{doctor['id']}/slots"
    now = dt.datetime.now(UTC)

    async def ask(**params):
        return await client.get(url, params={k.rstrip("_"): v for k, v in params.items()}, headers=p)

    assert (await ask(from_=now.isoformat(), to=(now + dt.timedelta(days=31)).isoformat())).status_code == 200
    assert_problem(
        await ask(from_=now.isoformat(), to=(now + dt.timedelta(days=32)).isoformat()), 422, "validation_error"
    )
    assert_problem(await ask(from_=now.isoformat(), to=now.isoformat()), 422, "validation_error")
    assert_problem(await ask(from_="2026-12-01T10:00:00"), 422, "validation_error")  # no zone
    assert_problem(await ask(from_="tomorrow"), 422, "validation_error")
    default = (await ask()).json()["slots"]  # from now, a week
    assert default and dt.datetime.fromisoformat(default[0]["starts_at"]) >= now
    assert dt.datetime.fromisoformat(default[-1]["starts_at"]) < now + dt.timedelta(days=7, minutes=1)
    past = await ask(from_=(now - dt.timedelta(days=3)).isoformat(), to=(now - dt.timedelta(days=1)).isoformat())
    assert past.json()["slots"] == []
    assert_problem(await client.get(f"/api/v1/doctors/{doctor['id']}/slots"), 401, "unauthorized")


async def test_keyword_search_finds_names_and_specialties(client):
    for name, specialty in [
        ("Ada Lovelace", "General practice"),
        ("Bea Arthur", "Cardiology"),
        ("Cy Young", "Paediatric cardiology"),
        ("Dee Snider", "Dermatology"),
    ]:
        await doctor_named(client, name, specialty)
    _, p = await signed_in(client, "patient")

    async def names(**params):
        got = await client.get("/api/v1/doctors", params=params, headers=p)
        assert got.status_code == 200, got.text
        return [c["full_name"] for c in got.json()["items"]]

    assert await names(q="general") == ["Ada Lovelace"]
    assert await names(q="CARDIO") == ["Bea Arthur", "Cy Young"]  # a word of the specialty, any case
    assert await names(q=" cardio ") == ["Bea Arthur", "Cy Young"]
    assert await names(q="snid") == ["Dee Snider"]  # names: anywhere
    assert await names(q="ology") == []  # specialties: from the start of a word, not inside one
    assert await names(q="cardio", specialty="cardiology") == ["Bea Arthur"]
    assert await names(q="zzz") == []
    assert await names(q="%ardio") == []  # wildcards are dropped, "ardio" starts no word


async def test_specialties_are_listed_once_each(client):
    for name, specialty in [
        ("Ada Lovelace", "Cardiology"),
        ("Bea Arthur", "cardiology"),
        ("Cy Young", "Cardiology"),
        ("Dee Snider", "Dermatology"),
    ]:
        await doctor_named(client, name, specialty)
    _, p = await signed_in(client, "patient")
    got = await client.get("/api/v1/doctors/specialties", headers=p)
    assert got.status_code == 200, got.text
    assert got.json() == {
        "items": [{"name": "Cardiology", "doctors": 3}, {"name": "Dermatology", "doctors": 1}],
    }
    # Every name listed finds its doctors through the specialty filter.
    derm = await client.get("/api/v1/doctors", params={"specialty": "Dermatology"}, headers=p)
    assert [c["full_name"] for c in derm.json()["items"]] == ["Dee Snider"]
    assert_problem(await client.get("/api/v1/doctors/specialties"), 401, "unauthorized")


async def test_specialties_leave_out_unlisted_doctors(client):
    doctor, _ = await open_doctor(client, full_name="Gone Doctor")
    _, p = await signed_in(client, "patient")
    before = (await client.get("/api/v1/doctors/specialties", headers=p)).json()["items"]
    assert sum(s["doctors"] for s in before) == 1
    _, a = await admin(client)
    assert (await client.post(f"/api/v1/admin/users/{doctor['id']}/disable", headers=a)).status_code in (200, 204)
    assert (await client.get("/api/v1/doctors/specialties", headers=p)).json() == {"items": []}
