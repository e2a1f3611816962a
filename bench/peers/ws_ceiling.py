"""The ceiling: a plain ``websockets`` server with in-process rooms, no Redis, no storage."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.peers.cli import parse_args

rooms: dict[str, set[ServerConnection]] = defaultdict(set)


async def handle(ws: ServerConnection) -> None:
    query = parse_qs(urlsplit(ws.request.path).query) if ws.request else {}
    member = query.get("member", ["?"])[0]
    joined: set[str] = set()
    try:
        async for raw in ws:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "send":
                room = frame["room"]
                if room in joined:
                    out = json.dumps(
                        {"type": "message", "room": room, "id": frame["id"], "sender": member, "body": frame["body"]}
                    )
                    broadcast(rooms[room], out)  # encoded once, written to every member
            elif kind == "join":
                room = frame["room"]
                rooms[room].add(ws)
                joined.add(room)
                await ws.send(json.dumps({"type": "joined", "room": room}))
    finally:
        for room in joined:
            members = rooms[room]
            members.discard(ws)
            if not members:
                del rooms[room]


async def main() -> None:
    args = parse_args(__doc__ or "")
    async with serve(handle, args.host, args.port, max_size=65536, ping_interval=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
