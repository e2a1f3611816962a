"""``HubClient`` against a real hub: order, acks, reconnects, re-join with since, resends, refresh."""

from __future__ import annotations

import asyncio

import pytest

from careconnect.client import HubClient, HubClosed, HubError
from careconnect.hub import HubSettings
from careconnect.hub.encoding import Outgoing, encode_json
from careconnect.hub.protocol import message_frame
from careconnect.hub.store import NewMessage
from tests.hub.harness import FlakyStore, serve_hub

ROOM = "consultation:c1"
FAST = HubSettings(maintenance_s=0.1, revalidate_s=0.2, send_limit=1000)


def clinic(served):
    alice = served.auth.add("alice", "patient")
    bob = served.auth.add("bob", "doctor")
    served.rooms.add(ROOM, [("alice", "patient"), ("bob", "doctor")])
    return alice, bob


async def test_send_ack_and_ordered_delivery_to_every_member():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        alice, bob = HubClient(served.url, alice_token), HubClient(served.url, bob_token)
        welcome = await alice.connect()
        assert welcome["user"]["id"] == "alice"
        await bob.connect()
        assert (await alice.join(ROOM))["state"] == "in_progress"
        await bob.join(ROOM)
        acks = await asyncio.gather(*(alice.send(ROOM, f"message {i}") for i in range(20)))
        assert sorted(a["seq"] for a in acks) == list(range(1, 21))
        for client in (alice, bob):
            seqs = [(await client.next_message(ROOM, timeout=5))["seq"] for _ in range(20)]
            assert seqs == list(range(1, 21))
        await bob.typing(ROOM)
        assert (await alice.next_event("typing", timeout=5))["user"] == "bob"
        await bob.read(ROOM, 20)
        assert (await alice.next_event("read", timeout=5))["seq"] == 20
        with pytest.raises(HubError) as refused:
            await alice.join("consultation:elsewhere", timeout=5)
        assert refused.value.code == "not_found"
        await alice.close()
        await bob.close()


async def test_reconnect_rejoins_with_since_and_gets_what_it_missed_once():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        alice, bob = HubClient(served.url, alice_token), HubClient(served.url, bob_token)
        await alice.connect()
        await bob.connect()
        await alice.join(ROOM)
        await bob.join(ROOM)
        await alice.send(ROOM, "before")
        assert (await bob.next_message(ROOM, timeout=5))["body"] == "before"
        await bob.drop_connection()
        for i in range(5):
            await alice.send(ROOM, f"while away {i}")
        got = [(await bob.next_message(ROOM, timeout=10))["body"] for _ in range(5)]
        assert got == [f"while away {i}" for i in range(5)]
        assert bob.reconnects == 1
        await alice.send(ROOM, "after")
        assert (await bob.next_message(ROOM, timeout=5))["body"] == "after"
        assert [m["seq"] for m in bob.rooms[ROOM].messages] == list(range(1, 8))
        await alice.close()
        await bob.close()


async def test_an_unacked_message_is_resent_with_its_id_and_stored_once():
    async with serve_hub(settings=FAST) as served:
        alice_token, bob_token = clinic(served)
        alice, bob = HubClient(served.url, alice_token), HubClient(served.url, bob_token)
        await alice.connect()
        await bob.connect()
        await alice.join(ROOM)
        await bob.join(ROOM)
        first = await alice.send(ROOM, "exactly once", client_id="fixed-id")
        # The ack was lost with the connection: the client still holds the message as unacked.
        lost: asyncio.Future = asyncio.get_running_loop().create_future()
        alice._unacked["fixed-id"] = (ROOM, "exactly once", lost)
        await alice.drop_connection()
        again = await asyncio.wait_for(lost, 10)
        assert again["seq"] == first["seq"] and again["ts"] == first["ts"]
        await alice.send(ROOM, "next")
        bodies = [(await bob.next_message(ROOM, timeout=5))["body"] for _ in range(2)]
        assert bodies == ["exactly once", "next"]
        assert await served.hub.store.last_seq(ROOM) == 2
        await alice.close()
        await bob.close()


async def test_send_during_a_database_outage_is_retried_until_stored():
    store = FlakyStore()
    async with serve_hub(settings=FAST, store=store) as served:
        alice_token, _ = clinic(served)
        alice = HubClient(served.url, alice_token)
        await alice.connect()
        await alice.join(ROOM)
        store.down = True
        pending = asyncio.create_task(alice.send(ROOM, "during the outage", timeout=20))
        await asyncio.sleep(0.3)
        assert not pending.done()
        store.down = False
        ack = await asyncio.wait_for(pending, 20)
        assert ack["seq"] == 1
        await alice.close()


async def test_a_gap_is_filled_by_a_rejoin_in_seq_order():
    async with serve_hub(settings=FAST) as served:
        alice_token, _ = clinic(served)
        alice = HubClient(served.url, alice_token)
        await alice.connect()
        await alice.join(ROOM)
        # Two messages stored behind the hub's back; only the second reaches the socket.
        stored = await served.hub.store.append_batch(
            [NewMessage(ROOM, f"x{i}", "bob", "doctor", "Bob", f"hidden {i}") for i in (1, 2)]
        )
        served.hub.deliver_local(ROOM, Outgoing(encode_json(message_frame(stored[1].message))))
        got = [(await alice.next_message(ROOM, timeout=5))["seq"] for _ in range(2)]
        assert got == [1, 2]
        assert alice.rooms[ROOM].last_seq == 2
        await alice.close()


async def test_refresh_keeps_the_connection_past_expiry_and_revocation_is_final():
    async with serve_hub(settings=FAST) as served:
        clinic(served)
        short = served.auth.add("alice", "patient", expires_in=1.0)
        fresh = served.auth.add("alice", "patient", expires_in=600)
        alice = HubClient(served.url, short)
        await alice.connect()
        await alice.join(ROOM)
        await alice.refresh(fresh)
        await asyncio.sleep(1.5)
        assert (await alice.send(ROOM, "still connected"))["seq"] == 1
        assert alice.reconnects == 0
        served.auth.revoked.add(served.auth.users[fresh].session_id)
        await asyncio.wait_for(alice._reader, 5)  # the reader ends: 4401 is final
        assert alice.close_code == 4401
        with pytest.raises(HubClosed) as closed:
            await alice.send(ROOM, "too late", timeout=10)
        assert closed.value.code == 4401
        assert alice.reconnects == 0  # 4401 is final: no reconnect loop with a dead token
        await alice.close()
