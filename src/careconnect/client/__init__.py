"""An async Python client for the hub (bots, the load tester and the tests use it)."""

from __future__ import annotations

from careconnect.client.client import HubClient, HubClosed, HubError

__all__ = ("HubClient", "HubClosed", "HubError")
