"""Request and response Structs of the admin area's own: bot integrations.

(User pages are accounts' ``UserPage``, the audit log's are in ``domain.audit.schemas``.)
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from careconnect.hub.bounds import TEXT_PATTERN as TEXT


class IntegrationIn(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT)]


class IntegrationOut(msgspec.Struct, kw_only=True):
    client_id: str
    client_secret: str
    name: str
    bot_user_id: str
