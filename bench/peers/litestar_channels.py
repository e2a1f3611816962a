"""Plain Litestar: a WebSocket handler on the ChannelsPlugin with the Redis pub/sub backend.

Each joined room is a channel; a send is ``channels.publish`` to Redis, and the plugin's
subscriber for every local member writes it to that member's socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from litestar import Litestar, WebSocket, websocket
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.exceptions import WebSocketDisconnect
from redis.asyncio import Redis

from bench.peers.cli import parse_args, serve_asgi

# Serialises first subscriptions: concurrent ``channels.subscribe`` calls for new channels race in
# redis-py's lazy PubSub connection setup (each opens its own connection, only the last one is
# read), and without this lock clinic 20x2 lost 456 of 480 deliveries. A user would add the same.
subscribe_lock = asyncio.Lock()


async def forward(subscriber: Subscriber, socket: WebSocket) -> None:
    async for event in subscriber.iter_events():
        await socket.send_text(event.decode())


@websocket("/ws")
async def chat(socket: WebSocket, channels: ChannelsPlugin) -> None:
    await socket.accept()
    member = socket.query_params.get("member", "?")
    joined: dict[str, tuple[Subscriber, asyncio.Task[None]]] = {}
    try:
        while True:
            frame = json.loads(await socket.receive_text())
            kind = frame.get("type")
            if kind == "send":
                room = frame["room"]
                if room in joined:
                    channels.publish(
                        {"type": "message", "room": room, "id": frame["id"], "sender": member, "body": frame["body"]},
                        room,
                    )
            elif kind == "join":
                room = frame["room"]
                if room not in joined:
                    async with subscribe_lock:
                        subscriber = await channels.subscribe(room)
                    joined[room] = (subscriber, asyncio.create_task(forward(subscriber, socket)))
                await socket.send_text(json.dumps({"type": "joined", "room": room}))
    except WebSocketDisconnect:
        pass
    finally:
        for room, (subscriber, task) in joined.items():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await channels.unsubscribe(subscriber, room)


def build(redis_url: str) -> Litestar:
    backend = RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url))
    plugin = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)
    return Litestar(route_handlers=[chat], plugins=[plugin], debug=False, logging_config=None)


if __name__ == "__main__":
    args = parse_args(__doc__ or "")
    serve_asgi(build(args.redis_url), args)
