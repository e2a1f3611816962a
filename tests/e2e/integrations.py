"""An admin-made integration on a live server, for the tests whose bots join rooms."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.e2e.test_authorization import create_admin
from tests.helpers import PASSWORD
from tests.live import LiveServer


async def new_integration(http: httpx.AsyncClient, live: LiveServer, name: str) -> dict[str, Any]:
    """A new admin creates integration ``name``: its ``client_id`` and ``client_secret``."""
    admin_email = await asyncio.to_thread(create_admin, live)
    login = await http.post("/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD})
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    created = await http.post("/api/v1/admin/integrations", json={"name": name}, headers=admin)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def bot_token(http: httpx.AsyncClient, creds: dict[str, Any]) -> str:
    """An access token for the integration's bot (client credentials)."""
    grant = {
        "grant_type": "client_credentials",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
    }
    answer = await http.post("/api/v1/auth/token", json=grant)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])
