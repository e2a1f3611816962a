"""Files shared in a consultation (issue 20): their metadata, and their bytes when ``STORAGE_URL``
is ``postgres`` (the database backend keeps each file as numbered chunks)."""

from __future__ import annotations

from piccolo.columns import UUID, Bytea, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from careconnect.tables.accounts import User
from careconnect.tables.scheduling import Appointment


class Attachment(Table, tablename="cc_attachment"):
    """One uploaded file of one consultation, as stored (images re-encoded, metadata dropped).

    ``storage_key`` names the bytes in the blob store (``thumbnail_key`` the thumbnail's, empty
    for a PDF); ``sent_at`` is set once a message names the file: a file never sent is swept.
    """

    id = UUID(primary_key=True)
    appointment = ForeignKey(references=Appointment, on_delete=OnDelete.cascade, index=True)
    uploader = ForeignKey(references=User, on_delete=OnDelete.cascade)
    filename = Varchar(length=255)
    content_type = Varchar(length=64)
    size = Integer()
    sha256 = Varchar(length=64)
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    storage_key = Varchar(length=255)
    thumbnail_key = Varchar(length=255, default="")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    # The message that carries the file, by its idempotency key (room, sender, client id), set
    # when a ``send`` names it (before the message commits, so a resend finds it again).
    message_room = Varchar(length=200, null=True, default=None, index=True)
    message_sender = Varchar(length=64, null=True, default=None)
    message_client_id = Varchar(length=64, null=True, default=None)
    message_position = Integer(default=0)  # its place in the message's list


class BlobChunk(Table, tablename="cc_blob_chunk"):
    """One chunk (``n`` from 0) of a file kept in the database (``STORAGE_URL=postgres``)."""

    id = UUID(primary_key=True)
    key = Varchar(length=255, index=True)
    n = Integer()
    data = Bytea()
