"""A bot learns of an invitation at once (the ``invited`` frame in its ``user:<id>`` room, on any
worker through the broker) and can list the rooms it is invited to now
(``GET /integrations/me/rooms``, API.md 1.1 "Integrations"); people are refused the list."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.consult_helpers import open_visit
from tests.e2e.integrations import bot_token, new_integration
from tests.e2e.test_hub_edge import hub_socket
from tests.live import LiveServer


async def test_an_invited_bot_hears_of_it_at_once_and_lists_its_rooms(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
        doctor, patient, aid = await open_visit(http)
        creds = await new_integration(http, live, "Scribe")
        token = await bot_token(http, creds)
        bot = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/api/v1/integrations/me/rooms", headers=bot)).json() == {"rooms": []}

        ws = await hub_socket(live.ws_url, token)
        try:
            invited = await http.post(
                f"/api/v1/consultations/{aid}/participants",
                json={"client_id": creds["client_id"]},
                headers=doctor["h"],
            )
            assert invited.status_code == 201, invited.text
            async with asyncio.timeout(10):
                while (frame := json.loads(await ws.recv()))["type"] != "invited":
                    pass
        finally:
            await ws.close()
        assert frame["room"] == f"consultation:{aid}" and frame["appointment"]["id"] == aid

        rooms = (await http.get("/api/v1/integrations/me/rooms", headers=bot)).json()["rooms"]
        assert [(r["room"], r["appointment"]["id"]) for r in rooms] == [(f"consultation:{aid}", aid)]
        refused = await http.get("/api/v1/integrations/me/rooms", headers=patient["h"])
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        assert (await http.get("/api/v1/integrations/me/rooms")).status_code == 401

        removed = await http.delete(
            f"/api/v1/consultations/{aid}/participants/{creds['client_id']}", headers=doctor["h"]
        )
        assert removed.status_code == 204
        assert (await http.get("/api/v1/integrations/me/rooms", headers=bot)).json() == {"rooms": []}


async def test_doctors_list_the_integrations_they_can_invite(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
        doctor, patient, _ = await open_visit(http)
        creds = await new_integration(http, live, "Transcriber")
        listed = await http.get("/api/v1/integrations", headers=doctor["h"])
        assert listed.status_code == 200, listed.text
        assert {"client_id": creds["client_id"], "name": "Transcriber"} in listed.json()
        assert all(set(entry) == {"client_id", "name"} for entry in listed.json())  # never a secret
        refused = await http.get("/api/v1/integrations", headers=patient["h"])
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        bot = {"Authorization": f"Bearer {await bot_token(http, creds)}"}
        assert (await http.get("/api/v1/integrations", headers=bot)).status_code == 403
        assert (await http.get("/api/v1/integrations")).status_code == 401
