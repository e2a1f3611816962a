"""The AsyncAPI 3.0 document of the hub protocol (PROTOCOL.md), served at ``/schema/asyncapi.json``.

Generated from the frame Structs themselves (``careconnect.hub.protocol`` and the application's
events in ``careconnect.realtime``) with ``msgspec.json.schema_components``, so it cannot drift
from what the hub decodes and encodes: a frame added as a ``Frame`` subclass appears here.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

import msgspec

from careconnect import __version__
from careconnect.domain.appointments.schemas import AppointmentOut
from careconnect.domain.notifications.schemas import NotificationOut
from careconnect.hub import protocol
from careconnect.hub.protocol import MSGPACK_SUBPROTOCOL, Frame

__all__ = ("asyncapi_document", "asyncapi_json", "frame_classes")

REF = "#/components/schemas/{name}"
# The application's events carry REST objects the hub treats as opaque: name them here.
_OPAQUE_FIELDS = {"appointment": "AppointmentOut", "notification": "NotificationOut"}


def _subclasses(cls: type[Frame]) -> list[type[Frame]]:
    found: list[type[Frame]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def frame_classes() -> tuple[list[type[Frame]], list[type[Frame]]]:
    """(client-to-server, server-to-client) frame Structs; a Struct of ``Inbound`` is the former."""
    import careconnect.realtime  # noqa: F401 - defines the application's event frames

    inbound = list(typing.get_args(protocol.Inbound))
    # The product's frames only: a test (or any importer) may define Frame subclasses of its own,
    # even under the same names, and they are not part of the protocol.
    outbound = [
        cls
        for cls in _subclasses(Frame)
        if cls not in inbound and cls.__struct_config__.tag is not None and cls.__module__.startswith("careconnect.")
    ]
    return inbound, sorted(dict.fromkeys(outbound), key=lambda cls: cls.__name__)


def _tag(cls: type[Frame]) -> str:
    return str(cls.__struct_config__.tag)


def _summary(cls: type[Frame]) -> str:
    doc = (cls.__doc__ or "").strip()
    if not doc or doc.startswith(("Base of", "A base")):
        return f'The "{_tag(cls)}" frame.'
    return doc.split("\n\n")[0].replace("\n", " ")


@functools.cache
def asyncapi_document() -> dict[str, Any]:
    """The document, built once per process (the Structs do not change while it runs)."""
    inbound, outbound = frame_classes()
    frames = inbound + outbound
    types: list[Any] = [*frames, AppointmentOut, NotificationOut]
    _, components = msgspec.json.schema_components(types, ref_template=REF)
    for cls in frames:
        properties = components[cls.__name__].get("properties", {})
        for field, schema_name in _OPAQUE_FIELDS.items():
            if field in properties:
                properties[field] = {"$ref": REF.format(name=schema_name)}
    messages = {
        cls.__name__: {
            "name": _tag(cls),
            "title": f"{_tag(cls)} ({'client to server' if cls in inbound else 'server to client'})",
            "summary": _summary(cls),
            "contentType": "application/json",
            "payload": {"$ref": REF.format(name=cls.__name__)},
        }
        for cls in frames
    }
    channel_messages = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    operations: dict[str, Any] = {}
    for cls in frames:
        action = "send" if cls in inbound else "receive"
        operations[f"{action}{cls.__name__}"] = {
            "action": action,
            "channel": {"$ref": "#/channels/hub"},
            "summary": _summary(cls),
            "messages": [{"$ref": f"#/channels/hub/messages/{cls.__name__}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "CareConnect Live hub",
            "version": __version__,
            "description": (
                "One WebSocket per client at /ws. The first frame is `hello` with an access token (the "
                "REST API's /auth/login or /auth/token); `refresh` replaces it before it expires. Frames "
                "are JSON text, or MessagePack with the subprotocol "
                f"`{MSGPACK_SUBPROTOCOL}`; every frame has a `type`. See PROTOCOL.md for the rules "
                "(rooms, replay with `since`, limits, close codes)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "hub": {
                "host": "localhost:8000",
                "protocol": "ws",
                "pathname": "/ws",
                "description": "The server's own origin; wss behind TLS.",
            }
        },
        "channels": {
            "hub": {
                "address": "/ws",
                "title": "The hub socket",
                "description": "Every frame, both ways, on one socket; rooms are named inside the frames.",
                "servers": [{"$ref": "#/servers/hub"}],
                "messages": channel_messages,
            }
        },
        "operations": operations,
        "components": {"messages": messages, "schemas": components},
    }


@functools.cache
def asyncapi_json() -> bytes:
    return msgspec.json.encode(asyncapi_document())
