"""The hub client now lives in its own distribution, ``careconnect-client`` (``packages/``):
this module re-exports it for code that imported it from the server (docs/client.md)."""

from __future__ import annotations

from careconnect_client import *  # noqa: F403 - a re-export, names and all
from careconnect_client import Closed as HubClosed
from careconnect_client import __all__ as _client_all

__all__ = (*_client_all, "HubClosed")
