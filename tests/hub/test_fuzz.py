"""Hostile frames: every one gets an error frame or a documented close, and the hub stays healthy."""

from __future__ import annotations

import asyncio
import json

import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hub.harness import Raw, client_frame, serve_hub

DOCUMENTED_CLOSES = {1000, 1009, 4400, 4401, 4403, 4408, 4429}
ROOM = "consultation:fuzz"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
frame_types = st.sampled_from(["hello", "join", "leave", "send", "typing", "read", "refresh", "ping", "nope", "", 5])
frames = st.one_of(
    st.fixed_dictionaries(
        {"type": frame_types},
        optional={
            "room": st.one_of(st.just(ROOM), st.text(max_size=300), json_values),
            "id": st.one_of(st.text(max_size=80), json_values),
            "body": st.one_of(st.text(max_size=5000), json_values),
            "since": st.one_of(st.integers(), json_values),
            "seq": st.one_of(st.integers(), json_values),
            "token": st.one_of(st.text(max_size=20), json_values),
        },
    ).map(json.dumps),
    json_values.map(json.dumps),
    st.binary(max_size=200),
    st.text(max_size=200),
    st.integers(min_value=1, max_value=60).map(lambda depth: "[" * depth * 100 + "]" * depth * 100),
)


async def test_random_frames_get_errors_or_documented_closes():
    async with serve_hub() as served:
        token = served.auth.add("fuzzer", "patient")
        served.rooms.add(ROOM, [("fuzzer", "patient")])
        outcomes = {"error": 0, "closed": 0, "other": 0}
        sock = await Raw.open(served.url, token)

        # Hypothesis draws the frames (shrinking works on the drawn list); the socket replays them.
        pending: list = []

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(frame=frames)
        def draw(frame):
            pending.append(frame)

        draw()
        for n, frame in enumerate(pending):
            # The reply to a join of a room no frame can name marks the end of this frame's
            # replies (a pong would not: the fuzzer sends pings of its own).
            sentinel = f"sentinel:{n}"
            try:
                await sock.ws.send(frame)
                await sock.send({"type": "join", "room": sentinel})
                async with asyncio.timeout(5):
                    while True:
                        reply = await sock.recv()
                        if reply.get("room") == sentinel:
                            assert reply["type"] == "error" and reply["code"] == "not_found", reply
                            break
                        if reply.get("type") == "error":
                            assert reply["code"] in {
                                "bad_request",
                                "forbidden",
                                "not_found",
                                "room_closed",
                                "too_large",
                                "rate_limited",
                                "unauthorized",
                                "internal",
                            }
                            outcomes["error"] += 1
                        else:
                            outcomes["other"] += 1
            except websockets.ConnectionClosed:
                code = sock.ws.close_code
                assert code in DOCUMENTED_CLOSES, (code, frame[:100])
                outcomes["closed"] += 1
                sock = await Raw.open(served.url, token)
        assert outcomes["error"] > 0 and outcomes["closed"] > 0
        # Still healthy: a normal conversation works.
        await sock.send({"type": "join", "room": ROOM})
        await sock.recv_type("joined")
        await sock.send({"type": "send", "room": ROOM, "id": "after-fuzz", "body": "still fine"})
        assert (await sock.recv_type("ack"))["id"] == "after-fuzz"
        await sock.close()


async def test_invalid_utf8_in_a_text_frame_closes_1007_and_the_hub_stays_healthy():
    """A text frame whose bytes are not UTF-8 is refused by the WebSocket layer (RFC 6455: 1007)."""
    async with serve_hub() as served:
        token = served.auth.add("fuzzer", "patient")
        served.rooms.add(ROOM, [("fuzzer", "patient")])
        sock = await Raw.open(served.url, token)
        sock.ws.transport.write(client_frame(b'{"type":"send","room":"x","id":"1","body":"\xff\xfe"}'))
        assert await sock.closed_with() == 1007
        again = await Raw.open(served.url, token)
        await again.send({"type": "join", "room": ROOM})
        await again.recv_type("joined")
        await again.send({"type": "send", "room": ROOM, "id": "after", "body": "fine"})
        assert (await again.recv_type("ack"))["seq"] == 1
        await again.close()
