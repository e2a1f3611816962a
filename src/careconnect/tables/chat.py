"""Durable chat messages: the hub's message store. Seqs are gapless per room.

``chat_room.last_seq`` is bumped in the same transaction that inserts the messages, and two
unique indexes (room, seq) and (sender_id, room, client_id), created by a migration, make a
duplicate seq or a double-stored resend impossible.

A message stored by the application's hub is its own audit record (``messages.write``): the
row names the actor (``sender_id``, ``sender_role``), the consultation (``room``), the time
(``created_at``) and, in ``sender_address``, the client's address; ``domain/audit/messages.py``
reads it as an entry. ``sender_address`` is NULL for a message that is not such a record:
stored before the change (a ``cc_audit_entry`` row records it), or by the seed.
"""

from __future__ import annotations

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class ChatRoom(Table, tablename="chat_room"):
    name = Varchar(length=200, primary_key=True)
    last_seq = Integer(default=0)
    created_at = Timestamptz()


class ChatMessage(Table, tablename="chat_message"):
    room = Varchar(length=200)
    seq = Integer()
    client_id = Varchar(length=64)
    sender_id = Varchar(length=64)
    sender_role = Varchar(length=16)
    sender_name = Varchar(length=200)
    body = Text()
    kind = Varchar(length=16, default="text")  # "text", or "call": a video call's start or end
    created_at = Timestamptz()
    sender_address = Varchar(length=64, null=True, default=None)
