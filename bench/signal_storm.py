"""A video-signal storm in one room against chat latency in the others (docs/benchmarks.md).

Opens ``--rooms`` + 1 consultations on a running server, then measures chat in ``--rooms``
rooms (each patient sends a message every ``--interval`` s; latency is send to the doctor's
receipt, one process's clock) for ``--duration`` s quiet, then again while ``--storm-sockets``
sockets of the first room's patient send ``signal`` ``ice`` frames (about 1 KiB each) to its
doctor as fast as the server takes them::

    WS_SIGNAL_LIMIT=100000 .venv/bin/careconnect serve --port 8765 &   # the storm unlimited
    .venv/bin/python -m bench.signal_storm --url http://127.0.0.1:8765 --rooms 20 --duration 15
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
from typing import Any

import websockets

from careconnect.loadtest.rooms import open_consultations


async def joined(ws_url: str, token: str, room: str) -> Any:
    ws = await websockets.connect(ws_url, max_queue=None, open_timeout=10)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    await ws.send(json.dumps({"type": "join", "room": room}))
    async with asyncio.timeout(10):
        while json.loads(await ws.recv())["type"] != "joined":
            pass
    return ws


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def chat(rooms: list[tuple[Any, Any, str]], duration: float, interval: float) -> list[float]:
    """Latencies (ms) of messages sent every ``interval`` s in every room for ``duration`` s."""
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def receive(doctor: Any) -> None:
        async for raw in doctor:
            frame = json.loads(raw)
            if frame.get("type") == "message" and frame["id"] in sent:
                latencies.append((time.perf_counter() - sent.pop(frame["id"])) * 1000)

    async def send(patient: Any, room: str, n: int) -> None:
        end = time.perf_counter() + duration
        i = 0
        while time.perf_counter() < end:
            client_id = f"r{n}-{i}-{time.time_ns()}"
            sent[client_id] = time.perf_counter()
            await patient.send(json.dumps({"type": "send", "room": room, "id": client_id, "body": f"probe {i}"}))
            i += 1
            await asyncio.sleep(interval)

    readers = [asyncio.create_task(receive(doctor)) for _, doctor, _ in rooms]
    await asyncio.gather(*(send(patient, room, n) for n, (patient, _, room) in enumerate(rooms)))
    await asyncio.sleep(1.0)  # the last ones arrive
    for task in readers:
        task.cancel()
    return latencies


def storm_process(ws_url: str, token: str, room: str, to: str, sockets: int, seconds: float, out: Any) -> None:
    """The storm, in a process of its own (its load must not slow the chat probe's event loop):
    ``sockets`` sockets of one member sending ``ice`` signals as fast as they can for ``seconds``,
    reconnecting whenever the server closes them (a hostile client keeps coming back)."""
    counts = {"sent": 0, "refused": 0, "closed": 0}
    payload = {"call": "storm", "candidate": {"candidate": "candidate:1 1 udp 2122260223 " + "x" * 900}}
    frame = json.dumps({"type": "signal", "room": room, "to": to, "kind": "ice", "data": payload})

    async def one() -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                ws = await joined(ws_url, token, room)
            except Exception:  # noqa: BLE001 - refused for a moment: try again
                await asyncio.sleep(0.1)
                continue

            async def answers(ws: Any = ws) -> None:
                async for raw in ws:
                    if json.loads(raw).get("type") == "error":
                        counts["refused"] += 1

            reader = asyncio.create_task(answers())
            try:
                while time.monotonic() < end:
                    await ws.send(frame)
                    counts["sent"] += 1
                    if counts["sent"] % 50 == 0:
                        await asyncio.sleep(0)
            except websockets.ConnectionClosed:
                counts["closed"] += 1
            reader.cancel()
            await ws.close()

    async def run() -> None:
        await asyncio.gather(*(one() for _ in range(sockets)))

    asyncio.run(run())
    out.put(counts)


async def count_signals(doctor: Any, counts: dict[str, int]) -> None:
    async for raw in doctor:
        if json.loads(raw).get("type") == "signal":
            counts["delivered"] += 1


async def main(args: argparse.Namespace) -> None:
    ws_url = args.url.replace("http", "ws", 1).rstrip("/") + "/ws"
    consultations = await open_consultations(args.url, args.rooms + 1, label="Storm")
    rooms = []
    for c in consultations[1:]:
        room = f"consultation:{c.id}"
        rooms.append((await joined(ws_url, c.patient.token, room), await joined(ws_url, c.doctor.token, room), room))
    first = consultations[0]
    storm_room = f"consultation:{first.id}"
    storm_doctor = await joined(ws_url, first.doctor.token, storm_room)
    await asyncio.sleep(1.0)

    quiet = await chat(rooms, args.duration, args.interval)
    seconds = args.duration + 2.0
    queue: multiprocessing.Queue[dict[str, int]] = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=storm_process,
        args=(ws_url, first.patient.token, storm_room, first.doctor.id, args.storm_sockets, seconds, queue),
    )
    delivered = {"delivered": 0}
    counter = asyncio.create_task(count_signals(storm_doctor, delivered))
    process.start()
    await asyncio.sleep(1.0)
    loud = await chat(rooms, args.duration, args.interval)
    counts = await asyncio.to_thread(queue.get, True, 60)
    process.join(10)
    counter.cancel()
    for name, values in (("quiet", quiet), ("storm", loud)):
        print(
            f"{name}: {len(values)} chat messages in {args.rooms} rooms, p50 {statistics.median(values):.2f} ms, "
            f"p99 {quantile(values, 0.99):.2f} ms, max {max(values):.2f} ms"
        )
    print(
        f"storm: {counts['sent'] / seconds:,.0f} signals/s sent by {args.storm_sockets} sockets, "
        f"{delivered['delivered'] / seconds:,.0f}/s delivered, {counts['refused']:,} refused, "
        f"{counts['closed']:,} sockets closed (4429) and reopened"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--interval", type=float, default=0.6)  # under the 20 sends per 10 s
    parser.add_argument("--storm-sockets", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
