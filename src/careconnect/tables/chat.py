"""Durable chat messages: the hub's message store. Seqs are gapless per room.

``chat_room.last_seq`` is bumped in the same transaction that inserts the messages, and two
unique indexes (room, seq) and (sender_id, room, client_id), created by a migration, make a
duplicate seq or a double-stored resend impossible.
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
