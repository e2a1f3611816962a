"""The receiver in docs/integrations.md works: run as written (on an ephemeral port), it takes a
real delivery, verifies its signature, and refuses one whose body was altered."""

from __future__ import annotations

import asyncio
import re
import threading
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.consult_helpers import open_consultation
from tests.webhooks.test_delivery import register

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
SERVE = 'HTTPServer(("0.0.0.0", 8088), Hooks).serve_forever()'


def receiver_example(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None and SERVE in code.group(1)
    monkeypatch.setenv("WEBHOOK_SECRET", "not-yet")  # the webhook's own is set once it is made
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1).replace(SERVE, ""), str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


async def test_the_documented_receiver_verifies_real_deliveries(
    http: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    example = receiver_example(monkeypatch)
    server = HTTPServer(("127.0.0.1", 0), example["Hooks"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        hook = await register(http, admin_headers, url, ["appointment.booked", "appointment.started"])
        example["SECRET"] = hook["secret"].encode()
        await open_consultation(http)
        async with asyncio.timeout(30):
            while len(example["seen"]) < 2:  # noqa: ASYNC110 - the example's own set, filled by its thread
                await asyncio.sleep(0.05)
        async with httpx.AsyncClient() as outsider:
            forged = await outsider.post(url, content=b'{"id":"evt_x"}', headers={"CareConnect-Signature": "t=1,v1=00"})
        assert forged.status_code == 400 and "evt_x" not in example["seen"]
    finally:
        server.shutdown()
        server.server_close()
