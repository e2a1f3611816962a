"""A triage assistant bot: greets the patient, answers a keyword, leaves when the room closes.

Run it against `make run` after an admin created an integration and a doctor invited it:

    python examples/triage_bot.py --url http://127.0.0.1:8000 \\
        --client-id cc_… --client-secret … --room consultation:<appointment id>

It authenticates with client credentials, joins over the hub like any member, and relies on
`careconnect.client.HubClient` for reconnects, re-joins with `since` and resends.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx

from careconnect.client import HubClient, HubError

ANSWERS = {
    "hours": "The clinic answers online from 08:00 to 18:00 on weekdays.",
    "emergency": "If this is an emergency, call your local emergency number now.",
    "prescription": "Your doctor will send any prescription to your pharmacy after the visit.",
}


async def bot_token(url: str, client_id: str, client_secret: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        response = await http.post(
            "/api/v1/auth/token",
            json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


async def run(url: str, client_id: str, client_secret: str, room: str, *, idle_exit: float = 3600) -> int:
    ws_url = url.replace("http", "ws", 1).rstrip("/") + "/ws"
    client = HubClient(ws_url, lambda: bot_token(url, client_id, client_secret), client_name="triage-bot/1")
    welcome = await client.connect()
    me = welcome["user"]["id"]
    try:
        joined = await client.join(room)
        if joined["state"] in ("checked_in", "in_progress"):
            await client.send(room, "Hello, I am the triage assistant. Ask me about: " + ", ".join(ANSWERS) + ".")
        while True:
            message_task = asyncio.create_task(client.next_message(room, timeout=idle_exit))
            event_task = asyncio.create_task(client.next_event("room_state", timeout=idle_exit))
            done, pending = await asyncio.wait({message_task, event_task}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            finished = done.pop()
            if finished.exception() is not None:
                return 0  # quiet for too long
            frame = finished.result()
            if frame["type"] == "room_state" and frame["state"] not in ("checked_in", "in_progress"):
                return 0  # the room closed: leave
            if frame["type"] == "message" and frame["sender"]["id"] != me:
                text = frame["body"].lower()
                for keyword, answer in ANSWERS.items():
                    if keyword in text:
                        try:
                            await client.send(room, answer)
                        except HubError as exc:
                            if exc.code == "room_closed":
                                return 0
                            raise
                        break
    finally:
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--room", required=True)
    args = parser.parse_args()
    return asyncio.run(run(args.url, args.client_id, args.client_secret, args.room))


if __name__ == "__main__":
    sys.exit(main())
