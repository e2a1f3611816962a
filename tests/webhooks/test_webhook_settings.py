"""WEBHOOK_* settings: private addresses refused by default in production only, numbers bounded."""

from __future__ import annotations

import pytest

from careconnect.settings import SettingsError, load_settings

PRODUCTION = {"CARECONNECT_ENV": "production", "SECRET_KEY": "0123456789abcdef" * 4}


def test_private_addresses_are_refused_by_default_in_production_only() -> None:
    assert load_settings(PRODUCTION).webhooks_reach_private is False
    assert load_settings({"CARECONNECT_ENV": "development"}).webhooks_reach_private is True
    assert load_settings({"CARECONNECT_ENV": "test"}).webhooks_reach_private is True
    assert load_settings({**PRODUCTION, "WEBHOOK_ALLOW_PRIVATE": "true"}).webhooks_reach_private is True
    assert load_settings({"CARECONNECT_ENV": "test", "WEBHOOK_ALLOW_PRIVATE": "0"}).webhooks_reach_private is False


def test_delivery_settings_are_read_and_bounded() -> None:
    settings = load_settings(
        {
            "WEBHOOK_TIMEOUT_S": "5",
            "WEBHOOK_CONCURRENCY": "16",
            "WEBHOOK_RETRY_BASE_S": "2",
            "WEBHOOK_RETRY_MAX_S": "600",
            "WEBHOOK_GIVE_UP_S": "7200",
        }
    )
    assert (settings.webhook_timeout_s, settings.webhook_concurrency) == (5.0, 16)
    assert (settings.webhook_retry_base_s, settings.webhook_retry_max_s, settings.webhook_give_up_s) == (2, 600, 7200)
    defaults = load_settings({})
    assert (defaults.webhook_timeout_s, defaults.webhook_give_up_s) == (10.0, 86_400.0)
    for name, value in (
        ("WEBHOOK_TIMEOUT_S", "0"),
        ("WEBHOOK_TIMEOUT_S", "600"),
        ("WEBHOOK_CONCURRENCY", "many"),
        ("WEBHOOK_GIVE_UP_S", "1"),
        ("WEBHOOK_ALLOW_PRIVATE", "perhaps"),
    ):
        with pytest.raises(SettingsError, match=name):
            load_settings({name: value})
