"""The example bot waits for its invitation (the ``invited`` event), joins the room, answers a
keyword, and leaves when the room closes; uninvited, it is refused."""

from __future__ import annotations

import asyncio
import importlib.util

import httpx

from careconnect.client import HubClient
from tests.e2e.integrations import new_integration
from tests.e2e.test_two_workers import open_visit
from tests.infra import REPO_ROOT
from tests.live import LiveServer


def load_bot():
    spec = importlib.util.spec_from_file_location("triage_bot", REPO_ROOT / "examples" / "triage_bot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_triage_bot_in_an_invited_room(live: LiveServer):
    bot = load_bot()
    async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
        doctor, patient, aid = await open_visit(http)
        creds = await new_integration(http, live, "Triage")
        room = f"consultation:{aid}"
        patient_ws = HubClient(live.ws_url, patient["token"])
        await patient_ws.connect()
        patient_room = await patient_ws.join(room)
        # Not invited yet: the bot is refused.
        try:
            await bot.run(live.url, creds["client_id"], creds["client_secret"], room, idle_exit=5)
            raise AssertionError("an uninvited bot joined")
        except Exception as exc:  # noqa: BLE001 - whatever the bot raises must name the refusal
            assert "forbidden" in str(exc)
        # Started with no room, it waits for its invitation and joins the room it names.
        running = asyncio.create_task(bot.run(live.url, creds["client_id"], creds["client_secret"], None, idle_exit=30))
        await asyncio.sleep(0.5)  # usually connected by now; if not, it finds the room on its list
        invited = await http.post(
            f"/api/v1/consultations/{aid}/participants", json={"client_id": creds["client_id"]}, headers=doctor["h"]
        )
        assert invited.status_code == 201
        greeting = await patient_room.get(timeout=15)
        assert greeting.sender.role == "bot" and "triage assistant" in greeting.body
        await patient_room.send("What are your hours?")
        await patient_room.get(timeout=10)  # own echo
        answer = await patient_room.get(timeout=15)
        assert answer.sender.role == "bot" and "08:00" in answer.body
        assert (await http.post(f"/api/v1/consultations/{aid}/complete", headers=doctor["h"])).status_code == 200
        assert await asyncio.wait_for(running, 15) == 0
        await patient_ws.close()
