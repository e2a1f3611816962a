"""Apps whose webhooks may reach loopback (the receiver), with short timeouts and retries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from careconnect.settings import Settings
from tests.conftest import app_client, make_settings, wipe
from tests.helpers import admin

FAST = {
    "webhook_allow_private": True,  # the receiver is on 127.0.0.1
    "webhook_timeout_s": 1.0,
    "webhook_retry_base_s": 0.2,
    "webhook_retry_max_s": 1.0,
    "outbox_poll_s": 0.1,
}


def hook_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return make_settings(database_url, mail_dir=str(tmp_path / "mail"), **{**FAST, **overrides})


@pytest.fixture
async def http(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(hook_settings(database_url, tmp_path)) as client:
        await wipe(client.app)  # type: ignore[attr-defined]
        yield client


@pytest.fixture
async def admin_headers(http: httpx.AsyncClient) -> dict[str, str]:
    _, headers = await admin(http)
    return headers
