"""The embedded default: each mail written as an ``.eml`` file, so ``make run`` shows them."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from email.message import EmailMessage

log = logging.getLogger("careconnect.mail")


class FileTransport:
    """A ``MailTransport`` that writes ``<UTC time>-<message id digest>.eml`` into ``directory``.

    The folder is made 0700 and each file 0600 before a byte is written (a reset link is a
    credential); a file appears whole or not at all (written beside, then renamed). Each mail is
    logged with its recipient, subject and file. Open one with any mail client, or
    ``python -m email`` tools: it is the message exactly as SMTP would have carried it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        # A few kilobytes to a local disk: not worth a thread.
        path = self.write(message)
        log.info("mail to %s, subject %r: written to %s", message["To"], str(message["Subject"]), path)

    def write(self, message: EmailMessage) -> Path:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        digest = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:12]
        path = self.directory / f"{stamp}-{digest}.eml"
        partial = path.with_suffix(".eml.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(message.as_bytes())
        os.replace(partial, path)
        return path
