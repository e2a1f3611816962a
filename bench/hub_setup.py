"""Make writable consultation rooms for the hub target through the real REST API (API.md).

    python -m bench.hub_setup --base http://127.0.0.1:8000 --rooms 100 --out rooms.json

For each room: register a doctor and a patient, log both in, the doctor opens every day
00:00-24:00 in 10-minute slots with no notice, the patient books the doctor's next slot
(it starts within 10 minutes, so check-in is already allowed), checks in, and the doctor
starts the consultation: the room is ``in_progress``, writable by both. The file lists
``{"room": "consultation:<id>", "tokens": [patient_token, doctor_token]}`` per room.

Access tokens must outlive the run: run.py starts the server with ACCESS_TOKEN_MINUTES=240.
Registration and login hash passwords (argon2), so this costs about 4 hashes per room.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import secrets
import sys
import time
from typing import Any

import httpx

PASSWORD = "bench-password-0123"
API = "/api/v1"


class SetupError(RuntimeError):
    pass


async def _call(client: httpx.AsyncClient, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for attempt in range(8):
        response = await client.request(method, API + path, headers=headers, **kw)
        if response.status_code == 429:  # rate limited: honour Retry-After, a few times
            await asyncio.sleep(min(float(response.headers.get("Retry-After", "1")), 5) + attempt * 0.1)
            continue
        if response.status_code >= 400:
            raise SetupError(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None
    raise SetupError(f"{method} {path} stayed rate limited")


async def _user(client: httpx.AsyncClient, email: str, role: str, name: str) -> tuple[str, str]:
    body: dict[str, Any] = {"email": email, "password": PASSWORD, "full_name": name, "role": role, "timezone": "UTC"}
    if role == "doctor":
        body["doctor"] = {"specialty": "General practice", "bio": "Benchmark doctor", "languages": ["en"]}
    user = await _call(client, "POST", "/auth/register", json=body)
    login = await _call(client, "POST", "/auth/login", json={"email": email, "password": PASSWORD})
    client.cookies.clear()  # each login sets a refresh cookie; the bench never uses it
    return str(user["id"]), str(login["access_token"])


async def make_room(client: httpx.AsyncClient, tag: str, i: int) -> dict[str, Any]:
    doctor_id, doctor_token = await _user(client, f"bench-{tag}-d{i}@example.com", "doctor", f"Dr Bench {i}")
    await _call(
        client,
        "PUT",
        "/doctors/me/availability",
        doctor_token,
        json={
            "timezone": "UTC",
            "slot_minutes": 10,
            "min_notice_minutes": 0,
            "horizon_days": 2,
            "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
            "exceptions": [],
        },
    )
    _, patient_token = await _user(client, f"bench-{tag}-p{i}@example.com", "patient", f"Patient Bench {i}")
    now = dt.datetime.now(dt.UTC)
    window = {
        "from": (now + dt.timedelta(minutes=1)).isoformat(),  # a few seconds of setup must not make it past
        "to": (now + dt.timedelta(minutes=30)).isoformat(),
    }
    slots = (await _call(client, "GET", f"/doctors/{doctor_id}/slots", patient_token, params=window))["slots"]
    soon = [
        s
        for s in slots
        if dt.datetime.fromisoformat(s["starts_at"].replace("Z", "+00:00")) <= now + dt.timedelta(minutes=14)
    ]
    if not soon:
        raise SetupError(f"doctor {doctor_id} offers no slot within 14 minutes: {slots[:3]}")
    appointment = await _call(
        client,
        "POST",
        "/appointments",
        patient_token,
        json={"doctor_id": doctor_id, "starts_at": soon[0]["starts_at"], "reason": "benchmark"},
    )
    cid = appointment["id"]
    await _call(client, "POST", f"/consultations/{cid}/check-in", patient_token)
    await _call(client, "POST", f"/consultations/{cid}/start", doctor_token)
    return {"room": f"consultation:{cid}", "tokens": [patient_token, doctor_token]}


async def make_rooms(base: str, count: int, concurrency: int = 8) -> list[dict[str, Any]]:
    tag = secrets.token_hex(3)
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def one(i: int) -> dict[str, Any]:
            async with gate:
                return await make_room(client, tag, i)

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hub_setup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        rooms = asyncio.run(make_rooms(args.base, args.rooms, args.concurrency))
    except (SetupError, httpx.HTTPError) as exc:
        print(f"hub_setup: {exc}", file=sys.stderr)
        return 1
    with open(args.out, "w") as fh:
        json.dump(rooms, fh)
    print(f"hub_setup: {len(rooms)} rooms in {time.perf_counter() - start:.1f} s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
