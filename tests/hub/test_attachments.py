"""Files in messages at the hub's level (PROTOCOL.md 1.1), with no application: the memory
store, and a port that knows which files each user uploaded to each room."""

from __future__ import annotations

from careconnect.hub import Hub, HubSettings, MemoryBroker, MemoryPresence, MemoryStore, Principal
from careconnect.hub.attachments import AttachmentRef, AttachmentRefused
from tests.hub.harness import Raw, RoomBook, StaticAuth, serve_hub

ROOM = "consultation:files"


class UploadedFiles:
    """An ``AttachmentPort`` over a dict: (room, uploader) -> files; each file goes with one message."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], dict[str, AttachmentRef]] = {}
        self.claimed: dict[str, tuple[str, str]] = {}

    async def claim(self, principal: Principal, room: str, client_id: str, ids: list[str]) -> list[AttachmentRef]:
        mine = self.files.get((room, principal.id), {})
        if any(i not in mine for i in ids):
            raise AttachmentRefused("not_found", "no such file in this room")
        if any(self.claimed.get(i, (principal.id, client_id)) != (principal.id, client_id) for i in ids):
            raise AttachmentRefused("conflict", "a file was already sent with another message")
        self.claimed.update({i: (principal.id, client_id) for i in ids})
        return [mine[i] for i in ids]


def hub_with(port: UploadedFiles | None, auth: StaticAuth, rooms: RoomBook) -> Hub:
    return Hub(
        authenticator=auth,
        policy=rooms,
        store=MemoryStore(),
        broker=MemoryBroker(),
        presence=MemoryPresence(),
        settings=HubSettings(maintenance_s=0.2, revalidate_s=0.5, presence_sweep_s=0.5),
        attachments=port,
    )


async def test_a_message_carries_its_files_live_on_replay_and_on_resend():
    auth, rooms, port = StaticAuth(), RoomBook(), UploadedFiles()
    rooms.add(ROOM, [("pat", "patient"), ("doc", "doctor")])
    photo = AttachmentRef(id="f1", filename="rash.jpg", content_type="image/jpeg", size=10, width=4, height=3)
    port.files[(ROOM, "pat")] = {"f1": photo}
    async with serve_hub(hub_with(port, auth, rooms), auth=auth, rooms=rooms) as served:
        pat = await Raw.open(served.url, auth.add("pat"))
        doc = await Raw.open(served.url, auth.add("doc", "doctor"))
        for sock in (pat, doc):
            await sock.send({"type": "join", "room": ROOM})
            await sock.recv_type("joined")
        await pat.send({"type": "send", "room": ROOM, "id": "m1", "body": "", "attachments": ["f1"]})
        ack = await pat.recv_type("ack")
        seen = await doc.recv_type("message")
        assert seen["body"] == "" and seen["attachments"] == [
            {"id": "f1", "filename": "rash.jpg", "content_type": "image/jpeg", "size": 10, "width": 4, "height": 3}
        ]
        await pat.send({"type": "send", "room": ROOM, "id": "m1", "body": "", "attachments": ["f1"]})
        assert (await pat.recv_type("ack"))["seq"] == ack["seq"]
        # Refused for this frame alone: another's file, a second message, too many, wrong types.
        for frame, code in (
            ({"id": "d1", "attachments": ["f1"]}, "not_found"),
            ({"id": "m2", "attachments": ["f1"]}, "conflict"),
            ({"id": "m3", "attachments": [f"f{i}" for i in range(6)]}, "bad_request"),
            ({"id": "m4", "attachments": ["f1", "f1"]}, "bad_request"),
            ({"id": "m5", "attachments": [1]}, "bad_request"),
            ({"id": "m6", "attachments": "f1"}, "bad_request"),
        ):
            sender = doc if frame["id"] == "d1" else pat
            await sender.send({"type": "send", "room": ROOM, "body": "", **frame})
            error = await sender.recv_type("error")
            assert error["code"] == code, (frame, error)
        await pat.send({"type": "send", "room": ROOM, "id": "m7", "body": "text only"})
        await pat.recv_type("ack")
        late = await Raw.open(served.url, auth.add("doc", "doctor"))
        await late.send({"type": "join", "room": ROOM, "since": 0})
        replayed = [await late.recv_type("message"), await late.recv_type("message")]
        assert replayed[0]["attachments"] == seen["attachments"] and "attachments" not in replayed[1]
        for sock in (pat, doc, late):
            await sock.close()


async def test_without_a_port_files_are_refused_and_text_still_flows():
    auth, rooms = StaticAuth(), RoomBook()
    rooms.add(ROOM, [("pat", "patient")])
    async with serve_hub(hub_with(None, auth, rooms), auth=auth, rooms=rooms) as served:
        pat = await Raw.open(served.url, auth.add("pat"))
        await pat.send({"type": "join", "room": ROOM})
        await pat.recv_type("joined")
        await pat.send({"type": "send", "room": ROOM, "id": "a", "body": "hi", "attachments": ["x"]})
        assert (await pat.recv_type("error"))["code"] == "bad_request"
        await pat.send({"type": "send", "room": ROOM, "id": "b", "body": ""})
        assert (await pat.recv_type("error"))["code"] == "bad_request"
        await pat.send({"type": "send", "room": ROOM, "id": "c", "body": "hi"})
        assert (await pat.recv_type("ack"))["id"] == "c"
        await pat.close()
