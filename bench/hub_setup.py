"""Make writable consultation rooms for the hub target through the real REST API (API.md).

    python -m bench.hub_setup --base http://127.0.0.1:8000 --rooms 100 --out rooms.json

For each room (``careconnect.loadtest.rooms.open_consultation``, the way the load tester and
the tests make theirs): register a doctor and a patient, log both in, the doctor opens every
day 00:00-24:00 in 10-minute slots with no notice, the patient books the doctor's next slot
(it starts within 10 minutes, so check-in is already allowed), checks in, and the doctor
starts the consultation: the room is ``in_progress``, writable by both. The file is a rooms
file: ``{"rooms": [{"room": "consultation:<id>", "tokens": [patient_token, doctor_token]}, ...]}``.

Access tokens must outlive the run: run.py starts the server with ACCESS_TOKEN_MINUTES=240.
Registration and login hash passwords (argon2), so this costs about 4 hashes per room.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import httpx

from careconnect.loadtest.rooms import SetupError, open_consultations, write_rooms_file

PASSWORD = "bench-password-0123"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hub_setup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        rooms = asyncio.run(
            open_consultations(args.base, args.rooms, concurrency=args.concurrency, label="Bench", password=PASSWORD)
        )
    except (SetupError, httpx.HTTPError) as exc:
        print(f"hub_setup: {exc}", file=sys.stderr)
        return 1
    write_rooms_file(args.out, rooms)
    print(f"hub_setup: {len(rooms)} rooms in {time.perf_counter() - start:.1f} s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
