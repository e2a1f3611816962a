"""``Hub.post``: a message from the server side (the HTTP server API) is stored, then delivered to
the room's sockets in seq order with the socket sends around it, and a repeat of its (sender,
room, id) returns the original and delivers nothing twice."""

from __future__ import annotations

from careconnect.hub import NewMessage
from tests.hub.harness import Raw, serve_hub
from tests.hub.test_protocol import ROOM, clinic


def from_the_bot(client_id: str, body: str) -> NewMessage:
    return NewMessage(
        room=ROOM, client_id=client_id, sender_id="scribe", sender_role="bot", sender_name="Scribe", body=body
    )


async def test_a_posted_message_is_stored_then_delivered_once_in_seq_order() -> None:
    async with serve_hub() as served:
        alice, _ = clinic(served)
        a = await Raw.open(served.url, alice)
        await a.send({"type": "join", "room": ROOM})
        await a.recv_type("joined")
        await a.send({"type": "send", "room": ROOM, "id": "a-1", "body": "hello"})
        assert (await a.recv_type("ack"))["seq"] == 1
        posted = await served.hub.post(from_the_bot("note-1", "results are in"))
        assert posted.created and posted.message.seq == 2
        again = await served.hub.post(from_the_bot("note-1", "results are in"))
        assert not again.created and again.message == posted.message
        await a.send({"type": "send", "room": ROOM, "id": "a-2", "body": "thanks"})
        frames = [await a.recv_type("message") for _ in range(3)]
        assert [(f["seq"], f["id"], f["sender"]["role"]) for f in frames] == [
            (1, "a-1", "patient"),
            (2, "note-1", "bot"),
            (3, "a-2", "patient"),
        ]
        assert await served.hub.store.last_seq(ROOM) == 3
        assert served.hub.stats.messages_duplicate == 1
        await a.close()
