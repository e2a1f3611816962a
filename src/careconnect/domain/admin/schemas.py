"""Request and response Structs of the admin area's own: bot integrations.

(User pages are accounts' ``UserPage``, the audit log's are in ``domain.audit.schemas``.)
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from careconnect.hub.bounds import TEXT_PATTERN as TEXT

# What an integration may do beyond joining the rooms it is invited to (issue 21):
# ``publish``: post into those rooms over HTTP (POST /rooms/{room}/messages).
Scope = Literal["publish"]


class IntegrationIn(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT)]
    scopes: Annotated[list[Scope], Meta(max_length=8)] = msgspec.field(default_factory=list)


class IntegrationOut(msgspec.Struct, kw_only=True):
    client_id: str
    client_secret: str
    name: str
    bot_user_id: str
    scopes: list[Scope] = msgspec.field(default_factory=list)
