"""Django Channels: an AsyncWebsocketConsumer on a ``channels_redis`` channel layer.

A joined room is a channel-layer group; a send is ``group_send``, which goes through Redis to
every member's channel, and the consumer writes it to its socket. The layer is the documented
default, ``channels_redis.core.RedisChannelLayer`` (``--layer pubsub`` picks the newer
``RedisPubSubChannelLayer``).
"""

from __future__ import annotations

import json
import sys

import django
from django.conf import settings

from bench.peers.cli import parse_args

LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


def configure(redis_url: str, layer: str) -> None:
    # redis-py 8's asyncio pool holds at most 100 connections and raises MaxConnectionsError
    # beyond that (seen as 1 of 200 concurrent joins failing); the core layer takes pool kwargs.
    host: object = {"address": redis_url, "max_connections": 1000} if layer == "core" else redis_url
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-a-secret-bench-only-not-a-secret",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={"default": {"BACKEND": LAYERS[layer], "CONFIG": {"hosts": [host]}}},
        LOGGING_CONFIG=None,
    )
    django.setup()


def build() -> object:
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import path

    def group_name(room: str) -> str:
        # Group names are limited to ASCII letters, digits, hyphens, underscores and periods.
        return "room." + "".join(c if c.isalnum() or c in "-_." else "_" for c in room)[:90]

    class ChatConsumer(AsyncWebsocketConsumer):
        async def connect(self) -> None:
            query = self.scope.get("query_string", b"").decode()
            params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            self.member = params.get("member", "?")
            self.joined: set[str] = set()
            await self.accept()

        async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
            frame = json.loads(text_data or bytes_data or b"{}")
            kind = frame.get("type")
            if kind == "send":
                room = frame["room"]
                if room in self.joined:
                    out = json.dumps(
                        {
                            "type": "message",
                            "room": room,
                            "id": frame["id"],
                            "sender": self.member,
                            "body": frame["body"],
                        }
                    )
                    await self.channel_layer.group_send(group_name(room), {"type": "chat.message", "text": out})
            elif kind == "join":
                room = frame["room"]
                if room not in self.joined:
                    await self.channel_layer.group_add(group_name(room), self.channel_name)
                    self.joined.add(room)
                await self.send(text_data=json.dumps({"type": "joined", "room": room}))

        async def chat_message(self, event: dict[str, str]) -> None:
            await self.send(text_data=event["text"])

        async def disconnect(self, code: int) -> None:
            for room in self.joined:
                await self.channel_layer.group_discard(group_name(room), self.channel_name)

    return ProtocolTypeRouter({"websocket": URLRouter([path("ws", ChatConsumer.as_asgi())])})


if __name__ == "__main__":
    layer = "core"
    if "--layer" in sys.argv:
        at = sys.argv.index("--layer")
        layer = sys.argv[at + 1]
        del sys.argv[at : at + 2]
    args = parse_args(__doc__ or "")
    configure(args.redis_url, layer)
    from bench.peers.cli import serve_asgi

    serve_asgi(build(), args)
