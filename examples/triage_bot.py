"""A triage assistant bot: greets the patient, answers a keyword, leaves when the room closes.

Run it against `make run` after an admin created an integration (and a doctor invited it, or
leave out --room: it then waits for its next invitation):

    python examples/triage_bot.py --url http://127.0.0.1:8000 \\
        --client-id cc_… --client-secret … [--room consultation:<appointment id>]

It needs only `careconnect-client` (websockets + msgspec) and the standard library: the token
comes from `POST /api/v1/auth/token` (client credentials), asked for again about a minute
before it expires; reconnects, re-joins with `since` and resends are the client's (docs/client.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.request

from careconnect_client import HubClient, Invited, Rejected, Room, RoomState, Timeout

ANSWERS = {
    "hours": "The clinic answers online from 08:00 to 18:00 on weekdays.",
    "emergency": "If this is an emergency, call your local emergency number now.",
    "prescription": "Your doctor will send any prescription to your pharmacy after the visit.",
}
OPEN = ("checked_in", "in_progress")


def mint_token(url: str, client_id: str, client_secret: str) -> str:
    grant = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    request = urllib.request.Request(
        url.rstrip("/") + "/api/v1/auth/token",
        data=json.dumps(grant).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return str(json.load(response)["access_token"])


def invited_rooms(url: str, token: str) -> list[str]:
    """The rooms this bot is invited to now, oldest invitation first."""
    request = urllib.request.Request(
        url.rstrip("/") + "/api/v1/integrations/me/rooms", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return [str(entry["room"]) for entry in json.load(response)["rooms"]]


async def next_invitation(client: HubClient) -> str:
    async for event in client:
        if isinstance(event, Invited):
            return event.room
    raise RuntimeError("the connection ended before an invitation")


async def answer(room: Room, me: str, idle_exit: float) -> None:
    """Answer keywords until the room is quiet for ``idle_exit`` seconds or stops taking messages."""
    while True:
        try:
            message = await room.get(timeout=idle_exit)
        except (Timeout, StopAsyncIteration):
            return  # quiet for too long, or the bot was removed from the room
        if message.sender.id == me:
            continue
        text = message.body.lower()
        for keyword, reply in ANSWERS.items():
            if keyword in text:
                try:
                    await room.send(reply)
                except Rejected as exc:
                    if exc.code == "room_closed":
                        return
                    raise
                break


async def until_closed(client: HubClient, room: str) -> None:
    """Return when ``room`` leaves the states a chat is open in."""
    async for event in client:
        if isinstance(event, RoomState) and event.room == room and event.state not in OPEN:
            return


async def run(url: str, client_id: str, client_secret: str, room_name: str | None, *, idle_exit: float = 3600) -> int:
    ws_url = url.replace("http", "ws", 1).rstrip("/") + "/ws"

    async def token() -> str:
        return await asyncio.to_thread(mint_token, url, client_id, client_secret)

    async with HubClient(ws_url, token_provider=token, client_name="triage-bot/1") as client:
        assert client.welcome is not None
        me = client.welcome.user.id
        if room_name is None:
            # Subscribed since the welcome: an invitation from now on arrives as an event, and
            # one made before is on the list.
            assert client.token is not None
            invited = await asyncio.to_thread(invited_rooms, url, client.token)
            room_name = invited[0] if invited else await next_invitation(client)
        room = await client.join(room_name)  # Rejected("forbidden") unless invited
        assert room.joined is not None
        if room.joined.state in OPEN:
            await room.send("Hello, I am the triage assistant. Ask me about: " + ", ".join(ANSWERS) + ".")
        answering = asyncio.create_task(answer(room, me, idle_exit))
        watching = asyncio.create_task(until_closed(client, room_name))
        done, pending = await asyncio.wait({answering, watching}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()  # an error in either is the bot's error
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--room", help="a room it was invited to (default: wait for the next invitation)")
    args = parser.parse_args()
    return asyncio.run(run(args.url, args.client_id, args.client_secret, args.room))


if __name__ == "__main__":
    sys.exit(main())
