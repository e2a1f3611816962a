"""A socket the hub closes is logged (who, code, reason) and counted by close code on
``/metrics`` (``careconnect_hub_closes_total{code}``); a client's own close is neither."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from careconnect.metrics import HubMetrics
from tests.hub.harness import Raw, serve_hub


async def test_closes_by_the_hub_are_logged_and_counted_by_code(caplog: pytest.LogCaptureFixture) -> None:
    async with serve_hub() as served:
        token = served.auth.add("alice", "patient")
        with caplog.at_level(logging.INFO, logger="careconnect.hub"):
            for _ in range(2):
                early = await Raw.open(served.url)
                await early.send({"type": "join", "room": "consultation:42"})  # before hello
                assert await early.closed_with() == 4400
            polite = await Raw.open(served.url, token)
            await polite.close()  # the client's own close
            for _ in range(50):
                if served.hub.stats.connections_total == 3 and not served.hub.connections:
                    break
                await asyncio.sleep(0.05)
        assert served.hub.stats.closes == {4400: 2}
        lines = [r.getMessage() for r in caplog.records if "closed by the hub" in r.getMessage()]
        assert len(lines) == 2 and all(
            "of anonymous closed by the hub: 4400 the first frame must be hello" in line for line in lines
        )

        registry = CollectorRegistry()
        HubMetrics(served.hub, registry).register()
        text = generate_latest(registry).decode()
        assert 'careconnect_hub_closes_total{code="4400"} 2.0' in text
        assert "careconnect_hub_connections_total 3.0" in text
        assert "careconnect_hub_signals_dropped_total 0.0" in text
