"""The mail and outbox settings: read from the environment once, refused with a message that
says how to fix them."""

from __future__ import annotations

import pytest

from careconnect.settings import REPO_ROOT, SettingsError, load_settings

BASE = {"CARECONNECT_ENV": "test", "SECRET_KEY": "k3y-for-the-mail-settings-tests-0123456789"}


def test_the_embedded_default_writes_files_under_var_mail() -> None:
    settings = load_settings(BASE)
    assert settings.smtp_url is None
    assert settings.mail_dir == str(REPO_ROOT / "var" / "mail")
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.outbox_worker is True and settings.outbox_give_up_s == 86_400


def test_mail_settings_are_read() -> None:
    settings = load_settings(
        {
            **BASE,
            "SMTP_URL": "smtp://mailer:pw@mail.example.org:587?starttls=1",
            "MAIL_FROM": "Clinic <no-reply@clinic.example>",
            "PUBLIC_URL": "https://care.clinic.example/",
            "MAIL_DIR": "var/other-mail",
            "OUTBOX_GIVE_UP_S": "3600",
            "OUTBOX_CONCURRENCY": "8",
            "OUTBOX_WORKER": "false",
        }
    )
    assert settings.smtp_url == "smtp://mailer:pw@mail.example.org:587?starttls=1"
    assert settings.mail_from == "Clinic <no-reply@clinic.example>"
    assert settings.public_url == "https://care.clinic.example"
    assert settings.mail_dir == str(REPO_ROOT / "var" / "other-mail")
    assert settings.outbox_give_up_s == 3600.0 and settings.outbox_concurrency == 8
    assert settings.outbox_worker is False


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SMTP_URL": "http://mail.example.org"}, "smtp:// or smtps://"),
        ({"SMTP_URL": "smtp://"}, "names no host"),
        ({"SMTP_URL": "smtps://h?starttls=1"}, "smtp:// only"),
        ({"MAIL_FROM": "nobody"}, "is not an address"),
        ({"PUBLIC_URL": "care.example.org"}, "http:// or https://"),
        ({"SMTP_CA_FILE": "/no/such/ca.pem"}, "is not a file"),
        ({"OUTBOX_LEASE_S": "60"}, "at least twice"),
        ({"OUTBOX_GIVE_UP_S": "10"}, "between 60"),
    ],
)
def test_bad_mail_settings_say_how_to_fix_them(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        load_settings({**BASE, **env})


def test_production_with_smtp_needs_a_sender_and_the_public_url() -> None:
    production = {
        "CARECONNECT_ENV": "production",
        "SECRET_KEY": "0123456789abcdefghijklmnopqrstuvwxyzABCDEF",
        "SMTP_URL": "smtps://mail.example.org",
    }
    with pytest.raises(SettingsError, match="MAIL_FROM is required"):
        load_settings(production)
    with pytest.raises(SettingsError, match="PUBLIC_URL is required"):
        load_settings({**production, "MAIL_FROM": "Clinic <no-reply@clinic.example>"})
    settings = load_settings(
        {**production, "MAIL_FROM": "Clinic <no-reply@clinic.example>", "PUBLIC_URL": "https://care.clinic.example"}
    )
    assert settings.smtp_url == "smtps://mail.example.org"
