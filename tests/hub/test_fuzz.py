"""Hostile frames: every one gets an error frame or a documented close, and the hub stays healthy."""

from __future__ import annotations

import asyncio
import json
import os

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


# Issue 15, item 6: what the strategies above never drew. Deep objects (the typed decoder skips
# unknown fields recursively: a RecursionError closed 1011, even before hello), integers beyond
# 2^53 (a join with since 2^70 was answered joined), NUL and lone surrogates in bodies.
MAX_COUNT = 2**53
huge_ints = st.one_of(
    st.sampled_from([MAX_COUNT + 1, 2**63, 2**64, 2**70, -(2**63) - 1, -1]),
    st.integers(min_value=MAX_COUNT + 1, max_value=2**90),
)
nul_text = st.text(max_size=20).flatmap(lambda t: st.integers(0, len(t)).map(lambda i: t[:i] + "\x00" + t[i:]))


def nested(depth: int, opener: str) -> str:
    return opener * depth + ("1" + "}" * depth if opener == '{"a":' else "]" * depth)


deep = st.builds(nested, st.integers(min_value=1_000, max_value=6_000), st.sampled_from(["[", '{"a":']))
hostile_frames = st.one_of(
    st.builds(  # deep data in any field of any frame type, hello included
        lambda kind, field, value: f'{{"type":{json.dumps(kind)},"{field}":{value}}}',
        frame_types.filter(lambda k: isinstance(k, str)),
        st.sampled_from(["room", "id", "body", "token", "since", "x"]),
        deep,
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["join", "read"]), "room": st.just(ROOM), "since": huge_ints, "seq": huge_ints}
    ).map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.just("send"), "room": st.just(ROOM), "id": st.text(min_size=1, max_size=10), "body": nul_text}
    ).map(json.dumps),
    st.builds(
        lambda ref, body: f'{{"type":"send","room":"{ROOM}","id":{json.dumps(ref)},"body":"{body}\\ud800"}}',
        st.text(alphabet="abc123", min_size=1, max_size=8),
        st.text(alphabet="xyz ", max_size=8),
    ),
    frames,
)


def broken_rule(frame: str, reply: dict) -> str | None:
    """A reply the contract forbids for this frame (PROTOCOL.md 1.1 "Bad input"), else None."""
    try:
        sent = json.loads(frame)
    except (ValueError, RecursionError):
        return None
    if not isinstance(sent, dict):
        return None
    kind, since, body = sent.get("type"), sent.get("since"), sent.get("body")
    if kind == "join" and isinstance(since, int) and not 0 <= since <= MAX_COUNT and reply.get("type") == "joined":
        return "a join with since beyond 2^53 was joined"
    if kind == "send" and isinstance(body, str) and "\x00" in body and reply.get("type") == "ack":
        return "a body holding NUL was stored"
    return None


async def test_hostile_frames_before_and_after_hello_never_close_1011():
    """Each drawn frame goes to a fresh socket before hello (documented close: 4400, 4401, 1009),
    then after hello (an error frame or a documented close, and what PROTOCOL.md 1.1 refuses is refused)."""
    async with serve_hub() as served:
        token = served.auth.add("fuzzer", "patient")
        served.rooms.add(ROOM, [("fuzzer", "patient"), ("checker", "doctor")])
        pending: list = []

        @settings(
            max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "120")),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(frame=hostile_frames)
        def draw(frame):
            pending.append(frame)

        draw()
        broken: list[str] = []
        sock = await Raw.open(served.url, token)
        await sock.send({"type": "join", "room": ROOM})
        await sock.recv_type("joined")
        for n, frame in enumerate(pending):
            fresh = await Raw.open(served.url)
            await fresh.ws.send(frame)
            try:
                reply = await fresh.recv(10)  # a frame before welcome is a failure unless it is the welcome
                broken.append(f"before hello {frame[:60]!r}: answered {reply}")
            except websockets.ConnectionClosed:
                if fresh.ws.close_code not in {1009, 4400, 4401}:
                    broken.append(f"before hello {frame[:60]!r}: closed {fresh.ws.close_code}")
            except TimeoutError:
                broken.append(f"before hello {frame[:60]!r}: neither answered nor closed in 10 s")
            sentinel = f"sentinel:{n}"
            try:
                await sock.ws.send(frame)
                await sock.send({"type": "join", "room": sentinel})
                async with asyncio.timeout(10):
                    while True:
                        reply = await sock.recv()
                        if reply.get("room") == sentinel:
                            break
                        if (rule := broken_rule(frame, reply)) is not None:
                            broken.append(f"after hello {frame[:60]!r}: {rule}")
            except TimeoutError:
                broken.append(f"after hello {frame[:60]!r}: no answer to the next frame in 10 s")
                sock = await Raw.open(served.url, token)
                await sock.send({"type": "join", "room": ROOM})
                await sock.recv_type("joined")
            except websockets.ConnectionClosed:
                if sock.ws.close_code not in DOCUMENTED_CLOSES:
                    broken.append(f"after hello {frame[:60]!r}: closed {sock.ws.close_code}")
                sock = await Raw.open(served.url, token)
                await sock.send({"type": "join", "room": ROOM})
                await sock.recv_type("joined")
        assert not broken, "\n".join(broken[:20])
        await sock.close()
        # Still healthy: someone else (the fuzzer may have left the room or hit its rate limit) talks.
        checker = await Raw.open(served.url, served.auth.add("checker", "doctor"))
        await checker.send({"type": "join", "room": ROOM})
        await checker.recv_type("joined")
        await checker.send({"type": "send", "room": ROOM, "id": "after-hostile", "body": "still fine"})
        assert (await checker.recv_type("ack"))["id"] == "after-hostile"
        await checker.close()


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
