"""``/schema/asyncapi.json``: the hub protocol as an AsyncAPI 3.0 document, made from the frame Structs.

Every frame type PROTOCOL.md shows appears, the document has AsyncAPI 3's structure (every
``$ref`` resolves; operations send or receive on a channel that lists their messages), and real
frames, encoded as the hub encodes them, validate against their message's payload schema.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest

from careconnect.hub import protocol
from careconnect.realtime import AppointmentEvent, InvitedEvent
from tests.conftest import app_client, make_settings

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "PROTOCOL.md"  # shared/ lies beside the clone


@pytest.fixture
async def document(sqlite_url: str) -> dict[str, Any]:
    async with app_client(make_settings(sqlite_url)) as http:
        response = await http.get("/schema/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    value: dict[str, Any] = response.json()
    return value


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def protocol_frame_types() -> set[str]:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is missing (shared/spec lies beside the repository)")
    return set(re.findall(r'\{"type":"([a-z_]+)"', SPEC.read_text(encoding="utf-8")))


async def test_every_frame_type_of_protocol_md_is_a_message(document: dict[str, Any]) -> None:
    types = protocol_frame_types()
    assert {"hello", "welcome", "send", "message", "error", "signal", "invited"} <= types
    names = {message["name"] for message in document["components"]["messages"].values()}
    assert types <= names, f"missing from the AsyncAPI document: {sorted(types - names)}"


async def test_the_document_has_asyncapi_3_structure(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    for ref in _refs(document):
        _resolve(document, ref)
    channels = document["channels"]
    assert channels["hub"]["address"] == "/ws"
    for server in document["servers"].values():
        assert {"host", "protocol"} <= set(server)
    assert document["operations"]
    for name, operation in document["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        channel = _resolve(document, operation["channel"]["$ref"])
        channel_messages = [m["$ref"] for m in channel["messages"].values()]
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/"), name
            assert _resolve(document, message["$ref"])["$ref"] in channel_messages
    for message in document["components"]["messages"].values():
        payload = _resolve(document, message["payload"]["$ref"])
        jsonschema.Draft202012Validator.check_schema(payload)
    # What a client sends is sent, what it receives is received.
    actions = {name: op["action"] for name, op in document["operations"].items()}
    assert actions["sendHello"] == "send"
    assert actions["receiveWelcome"] == "receive"
    assert actions["sendSignalIn"] == "send" and actions["receiveSignalOut"] == "receive"


def _validator(document: dict[str, Any], struct: type) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{struct.__name__}", "components": document["components"]}
    )


async def test_real_frames_validate_against_their_payload_schema(document: dict[str, Any]) -> None:
    user = protocol.UserRef(id="u1", role="doctor", name="Dr House")
    frames: list[protocol.Frame] = [
        protocol.Welcome(user=user, session="s1", heartbeat_s=25, server_time="2030-05-01T09:30:00Z"),
        protocol.Message(room="consultation:x", seq=3, id="m1", sender=user, body="hi", ts="t", kind="text"),
        protocol.SignalOut(room="consultation:x", from_=user, kind="offer", data={"sdp": "v=0"}),
        protocol.Error(code="not_found", message="No such room.", ref="m1"),
        protocol.Send(room="consultation:x", id="m1", body="hello"),
        protocol.Hello(token="jwt", client="bot/1"),
    ]
    for frame in frames:
        encoded = msgspec.json.decode(msgspec.json.encode(frame))
        errors = list(_validator(document, type(frame)).iter_errors(encoded))
        assert not errors, f"{type(frame).__name__}: {[e.message for e in errors]}"
    # A wrong frame is refused: the schemas say something.
    wrong = {"type": "welcome", "user": {"id": "u1"}, "session": 1}
    assert list(_validator(document, protocol.Welcome).iter_errors(wrong))
    # The application's events name the REST object they carry.
    invited = document["components"]["schemas"]["InvitedEvent"]["properties"]["appointment"]
    assert invited == {"$ref": "#/components/schemas/AppointmentOut"}
    assert AppointmentEvent.__name__ in document["components"]["schemas"]
    assert InvitedEvent.__struct_config__.tag == "invited"


async def test_the_schema_pages_are_public_and_keep_a_strict_csp(sqlite_url: str) -> None:
    async with app_client(make_settings(sqlite_url)) as http:
        page = await http.get("/schema")
        asset = await http.get("/schema/assets/swagger-ui-bundle.js")
        missing = await http.get("/schema/assets/..%2Fswagger-start.js")
        api = await http.get("/healthz")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "https:" not in page.text and "cdn" not in page.text.lower()
    assert "<script>" not in page.text  # no inline script: only files from this origin
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
