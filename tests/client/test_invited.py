"""On a real server: a bot's client surfaces its invitation as a typed ``Invited`` event, joins
the room it names, and its removal ends the room's iterator (it is not re-joined)."""

from __future__ import annotations

import httpx

from careconnect_client import Error, HubClient, Invited, Message
from tests.client.helpers import next_of
from tests.consult_helpers import open_visit
from tests.e2e.conftest import live  # noqa: F401 - the real server fixture
from tests.e2e.integrations import bot_token, new_integration
from tests.live import LiveServer


async def test_a_bot_hears_its_invitation_joins_and_is_removed(live: LiveServer) -> None:  # noqa: F811
    async with httpx.AsyncClient(base_url=live.url, timeout=20) as http:
        doctor, patient, aid = await open_visit(http)
        creds = await new_integration(http, live, "Scribe")
        calls = []

        async def provider() -> str:
            calls.append(1)
            return await bot_token(http, creds)

        async with HubClient(live.ws_url, token_provider=provider) as bot:
            invited = await http.post(
                f"/api/v1/consultations/{aid}/participants",
                json={"client_id": creds["client_id"]},
                headers=doctor["h"],
            )
            assert invited.status_code == 201, invited.text
            invitation = await next_of(bot, Invited)
            assert invitation.room == f"consultation:{aid}" and invitation.appointment["id"] == aid
            room = await bot.join(invitation.room)
            ack = await room.send("Scribe here")
            mine = await room.get(timeout=10)
            assert isinstance(mine, Message) and mine.seq == ack.seq and mine.sender.role == "bot"

            removed = await http.delete(
                f"/api/v1/consultations/{aid}/participants/{creds['client_id']}", headers=doctor["h"]
            )
            assert removed.status_code == 204
            notice = await next_of(bot, Error)
            assert notice.code == "forbidden" and notice.room == invitation.room
            assert room.removed is not None and invitation.room not in bot.rooms
            assert len(calls) == 1  # one token for the whole visit
