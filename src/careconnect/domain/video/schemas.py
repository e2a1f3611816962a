"""The video API's shapes (API.md 1.1 "Video visits")."""

from __future__ import annotations

import msgspec


class IceServer(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One ``RTCIceServer`` as a browser takes it; TURN servers carry a credential."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceServers(msgspec.Struct, kw_only=True):
    ice_servers: list[IceServer]
    ttl_s: int
