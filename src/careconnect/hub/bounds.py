"""What input the hub and the REST API accept: one rule for both (the API's schemas reuse these).

- Text: every store keeps it. PostgreSQL's ``text`` refuses NUL (U+0000) and no UTF-8 store keeps
  a lone surrogate (U+D800..U+DFFF), so a string holding either is refused at the edge (``bad_request``
  on the hub, 422 on the API) before it can fail a transaction shared with other people's writes.
- Counters (seqs, versions): at most 2^53, the largest integer every client (a JavaScript number)
  and every store (a signed 64-bit column) holds exactly.

msgspec's JSON and MessagePack decoders refuse lone surrogates themselves (they are not UTF-8), so
on the hub's hot path a decoded body is checked for NUL only (``storable``: one ``in`` test).
"""

from __future__ import annotations

import re
from typing import Annotated

from msgspec import Meta

__all__ = ("MAX_COUNT", "NONBLANK_TEXT_PATTERN", "TEXT_PATTERN", "Count", "Text", "has_nul", "storable")

MAX_COUNT = 2**53
TEXT_PATTERN = r"^[^\x00\ud800-\udfff]*$"
NONBLANK_TEXT_PATTERN = r"^(?=[\s\S]*\S)[^\x00\ud800-\udfff]*$"  # and not only whitespace
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")

Text = Annotated[str, Meta(pattern=TEXT_PATTERN)]
"""A string with no NUL and no lone surrogate; with bounds, as the API's schemas spell it:
``Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN)]``."""

Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
"""A seq, a version or an offset: 0 to 2^53."""


def storable(value: str) -> bool:
    """True when every store keeps ``value`` (no NUL, no lone surrogate)."""
    return "\x00" not in value and (value.isascii() or _UNSTORABLE.search(value) is None)


def has_nul(value: str) -> bool:
    """The hub's hot-path check of a decoded body: decoders already refuse lone surrogates."""
    return "\x00" in value
