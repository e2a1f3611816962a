"""Make the load test's own users and open consultations through the public REST API."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx

PASSWORD = "loadtest-password-1"
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "23:50"} for d in range(7)]


async def _register(http: httpx.AsyncClient, role: str, tag: str) -> dict[str, Any]:
    address = f"lt-{role}-{tag}@loadtest.example.com"
    body: dict[str, Any] = {"email": address, "password": PASSWORD, "full_name": f"Load {role} {tag}", "role": role}
    if role == "doctor":
        body["doctor"] = {"specialty": "Load testing"}
    response = await http.post("/api/v1/auth/register", json=body)
    if response.status_code not in (201, 409):
        raise RuntimeError(f"register failed: {response.status_code} {response.text[:200]}")
    login = await http.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    if login.status_code != 200:
        raise RuntimeError(f"login failed: {login.status_code} {login.text[:200]}")
    data = login.json()
    if role == "doctor" and (data["user"].get("doctor") or {}).get("verification", "approved") != "approved":
        raise RuntimeError(
            "the server vets new doctors (DOCTOR_REGISTRATION=review, the production default): "
            "run the load test against a server started with DOCTOR_REGISTRATION=open"
        )
    return {
        "id": data["user"]["id"],
        "token": data["access_token"],
        "h": {"Authorization": f"Bearer {data['access_token']}"},
    }


async def open_room(http: httpx.AsyncClient, tag: str) -> dict[str, Any]:
    """One doctor, one patient, a booked slot, checked in and admitted: a writable room."""
    doctor = await _register(http, "doctor", tag)
    patient = await _register(http, "patient", tag)
    availability = {
        "timezone": "UTC",
        "slot_minutes": 10,
        "min_notice_minutes": 0,
        "horizon_days": 2,
        "weekly": ALL_DAY,
        "exceptions": [],
    }
    await http.put("/api/v1/doctors/me/availability", json=availability, headers=doctor["h"])
    now = dt.datetime.now(dt.UTC)
    slots = (
        await http.get(
            f"/api/v1/doctors/{doctor['id']}/slots",
            headers=patient["h"],
            params={
                "from": (now + dt.timedelta(minutes=1)).isoformat(),
                "to": (now + dt.timedelta(hours=12)).isoformat(),
            },
        )
    ).json()
    booked = await http.post(
        "/api/v1/appointments",
        headers={**patient["h"], "Idempotency-Key": tag},
        json={"doctor_id": doctor["id"], "starts_at": slots["slots"][0]["starts_at"], "reason": "load"},
    )
    if booked.status_code not in (200, 201):
        raise RuntimeError(f"booking failed: {booked.status_code} {booked.text[:200]}")
    aid = booked.json()["id"]
    for who, action in ((patient, "check-in"), (doctor, "start")):
        response = await http.post(f"/api/v1/consultations/{aid}/{action}", headers=who["h"])
        if response.status_code not in (200, 409):
            raise RuntimeError(f"{action} failed: {response.status_code} {response.text[:200]}")
    return {"room": f"consultation:{aid}", "tokens": [patient["token"], doctor["token"]]}


async def open_rooms(base_url: str, count: int, concurrency: int = 16) -> list[dict[str, Any]]:
    run = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> dict[str, Any]:
            async with gate:
                return await open_room(http, f"{run}-{i}")

        return list(await asyncio.gather(*(one(i) for i in range(count))))
