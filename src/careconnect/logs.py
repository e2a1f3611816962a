"""Logging: human-readable lines by default, one JSON object per line when LOG_JSON is set.

Both formats escape control characters (C0, DEL, C1, and the Unicode line and paragraph
separators) in what they write, so nothing a client sends (a path with ``%0a``, a user agent
with ESC) can start a forged line or drive a terminal; and both redact the values of secret
query parameters (``?token=``, ``code=``, ...) wherever a URL appears in a line, uvicorn's own
lines ("WebSocket /ws?token=..." [accepted]) included.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from types import TracebackType
from typing import TypeAlias

import msgspec

# What logging hands formatException: sys.exc_info()'s shape.
ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

# Not extra fields: the record's own, and uvicorn's ``color_message`` (the message again, with
# ANSI colour escapes for a terminal).
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "color_message"}
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
SECRET_PARAMETERS = ("token", "access_token", "refresh_token", "code", "client_secret", "password")
_SECRET_IN_QUERY = re.compile(
    r"(?i)((?:^|[?&;])(?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&;#\s\"']*",
)
REDACTED = "[redacted]"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character written as ``\\xNN`` (``\\u2028`` for the separators)."""
    return _CONTROLS.sub(_escape, text)


def redact_query(text: str) -> str:
    """``text`` (a query string, or a line holding a URL) with secret parameters' values redacted."""
    return _SECRET_IN_QUERY.sub(lambda m: m.group(1) + REDACTED, text)


def _clean(value: object) -> object:
    return escape_controls(redact_query(value)) if isinstance(value, str) else value


class PlainFormatter(logging.Formatter):
    """``asctime level logger: message``, the message escaped and redacted; a traceback keeps its
    own line breaks (its other control characters are escaped)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return escape_controls(redact_query(super().formatMessage(record)))

    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802 - logging's name
        return _CONTROLS_BUT_NEWLINE.sub(_escape, redact_query(super().formatException(ei)))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _clean(record.getMessage()),
        }
        entry.update({k: _clean(v) for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = _CONTROLS_BUT_NEWLINE.sub(_escape, redact_query(self.formatException(record.exc_info)))
        return msgspec.json.encode(entry).decode()


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
