"""A webhook receiver on loopback for the tests: a real HTTP/1.1 server (asyncio streams) that
answers each request as its script says, then 200, and records every request it got."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from careconnect.domain.webhooks.signing import verify

Answer = Literal["ok", "fail", "hang", "redirect"]


@dataclass
class Received:
    """One request as it arrived, and what the receiver answered (``hang``: nothing)."""

    headers: dict[str, str]
    body: bytes
    answer: Answer
    at: float = field(default_factory=time.monotonic)

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    def verifies(self, secret: str) -> bool:
        return verify(secret, self.headers.get("careconnect-signature", ""), self.body)


class Receiver:
    """``async with Receiver(["fail", "fail", "hang"]) as r:`` then POST to ``r.url``; the
    script's answers are used up in order, every later request gets 200."""

    def __init__(self, script: Iterable[Answer] = (), *, hang_s: float = 30.0, redirect_to: str = "") -> None:
        self.script = list(script)
        self.redirect_to = redirect_to
        self.hang_s = hang_s
        self.received: list[Received] = []
        self.changed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hooks/careconnect?source=test"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def delivered(self) -> list[Received]:
        return [r for r in self.received if r.answer == "ok"]

    async def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """Until ``count`` requests were answered 200."""
        async with asyncio.timeout(timeout):
            while len(self.delivered) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.delivered

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                headers[":request-line"] = lines[0]
                body = await reader.readexactly(int(headers.get("content-length", "0")))
            answer: Answer = self.script.pop(0) if self.script else "ok"
            self.received.append(Received(headers, body, answer))
            self.changed.set()
            if answer == "hang":
                with contextlib.suppress(asyncio.CancelledError):  # the server closing ends the wait
                    await asyncio.sleep(self.hang_s)
                return
            status = {"ok": b"200 OK", "fail": b"500 Internal Server Error", "redirect": b"307 Temporary Redirect"}
            extra = f"Location: {self.redirect_to}\r\n".encode() if answer == "redirect" else b""
            writer.write(b"HTTP/1.1 " + status[answer] + b"\r\n" + extra)
            writer.write(b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
