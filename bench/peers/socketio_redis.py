"""python-socketio: an ASGI AsyncServer whose client manager is ``AsyncRedisManager``.

``join`` enters a socket.io room (acked); ``send`` emits ``message`` to the room, which the
Redis manager publishes to Redis and every server (this one included) delivers locally.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import socketio

from bench.peers.cli import parse_args, serve_asgi


def build(redis_url: str) -> object:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=socketio.AsyncRedisManager(redis_url),
        cors_allowed_origins=[],
        logger=False,
        engineio_logger=False,
        transports=["websocket"],
    )
    members: dict[str, str] = {}
    joined: dict[str, set[str]] = {}

    @sio.event
    async def connect(sid: str, environ: dict[str, object], auth: object = None) -> None:
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        members[sid] = query.get("member", ["?"])[0]
        joined[sid] = set()

    @sio.event
    async def disconnect(sid: str, *args: object) -> None:
        members.pop(sid, None)
        joined.pop(sid, None)

    @sio.event
    async def join(sid: str, room: str) -> dict[str, str]:
        await sio.enter_room(sid, room)
        joined[sid].add(room)
        return {"type": "joined", "room": room}

    @sio.on("send")
    async def send(sid: str, frame: dict[str, str]) -> None:
        room = frame["room"]
        if room in joined.get(sid, ()):
            await sio.emit(
                "message",
                {"type": "message", "room": room, "id": frame["id"], "sender": members[sid], "body": frame["body"]},
                room=room,
            )

    return socketio.ASGIApp(sio)


if __name__ == "__main__":
    args = parse_args(__doc__ or "")
    serve_asgi(build(args.redis_url), args)
