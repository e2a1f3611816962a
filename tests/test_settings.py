"""Settings are read once from the environment; a bad value names the setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from careconnect.settings import SettingsError, load_settings, process_environment
from tests.infra import REPO_ROOT

GOOD_SECRET = "s" * 40
# Production also wants variety (10 different characters at least).
STRONG_SECRET = "9f3c1e7a2b8d4f60a5e1c3b7d9f2a4c6e8b0d1f3a5c7e9b2d4f6a8c0e2b4d6f8"


def test_defaults_are_the_embedded_setup():
    settings = load_settings({"SECRET_KEY": GOOD_SECRET})
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("var/careconnect.db")
    assert settings.redis_url is None
    assert settings.cookie_secure is False  # development over http://127.0.0.1
    assert settings.access_token_minutes == 15
    assert settings.doctor_self_registration is True
    assert settings.gc_young_threshold == 50_000


def test_values_are_parsed():
    settings = load_settings(
        {
            "SECRET_KEY": GOOD_SECRET,
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "ACCESS_TOKEN_MINUTES": "5",
            "COOKIE_SECURE": "true",
            "CORS_ORIGINS": "https://a.example, https://b.example",
            "DOCTOR_SELF_REGISTRATION": "off",
            "LOG_JSON": "1",
            "GC_YOUNG_THRESHOLD": "700",
        }
    )
    assert settings.is_postgres and settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.access_token_minutes == 5 and settings.cookie_secure is True
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.doctor_self_registration is False and settings.log_json is True
    assert settings.gc_young_threshold == 700


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"ACCESS_TOKEN_MINUTES": "soon"}, "ACCESS_TOKEN_MINUTES"),
        ({"ACCESS_TOKEN_MINUTES": "0"}, "ACCESS_TOKEN_MINUTES"),
        ({"COOKIE_SECURE": "maybe"}, "COOKIE_SECURE"),
        ({"CORS_ORIGINS": "example.com"}, "CORS_ORIGINS"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"CARECONNECT_ENV": "production"}, "SECRET_KEY"),
        ({"CARECONNECT_ENV": "staging"}, "CARECONNECT_ENV"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"GC_YOUNG_THRESHOLD": "10"}, "GC_YOUNG_THRESHOLD"),
    ],
)
def test_bad_values_name_the_setting(env, named):
    environ = {"SECRET_KEY": GOOD_SECRET, **env}
    if named == "SECRET_KEY" and "CARECONNECT_ENV" in env:
        environ.pop("SECRET_KEY")
    with pytest.raises(SettingsError, match=named):
        load_settings(environ)


def test_bad_setting_fails_at_start_with_a_message():
    result = subprocess.run(
        [sys.executable, "-m", "careconnect", "serve", "--port", "1"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "mysql://nope", "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_mfa_required_roles_defaults_and_parsing():
    assert load_settings({"SECRET_KEY": GOOD_SECRET}).mfa_required_roles == ()
    assert load_settings({"SECRET_KEY": GOOD_SECRET, "CARECONNECT_ENV": "test"}).mfa_required_roles == ()
    production = {"SECRET_KEY": STRONG_SECRET, "CARECONNECT_ENV": "production"}
    assert load_settings(production).mfa_required_roles == ("doctor", "admin")
    assert load_settings({**production, "MFA_REQUIRED_ROLES": ""}).mfa_required_roles == ()
    assert load_settings({**production, "MFA_REQUIRED_ROLES": "none"}).mfa_required_roles == ()
    parsed = load_settings({"SECRET_KEY": GOOD_SECRET, "MFA_REQUIRED_ROLES": " Admin, patient,admin "})
    assert parsed.mfa_required_roles == ("admin", "patient")
    for bad in ("bot", "doctor,nurse"):
        with pytest.raises(SettingsError, match="MFA_REQUIRED_ROLES"):
            load_settings({"SECRET_KEY": GOOD_SECRET, "MFA_REQUIRED_ROLES": bad})


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, "open"),
        ({"CARECONNECT_ENV": "test"}, "open"),
        ({"CARECONNECT_ENV": "production"}, "review"),
        ({"CARECONNECT_ENV": "production", "DOCTOR_REGISTRATION": "open"}, "open"),
        ({"DOCTOR_REGISTRATION": "Review"}, "review"),
        ({"DOCTOR_REGISTRATION": "closed"}, "closed"),
        ({"DOCTOR_SELF_REGISTRATION": "false"}, "closed"),  # the 1.0 setting keeps its meaning
        ({"CARECONNECT_ENV": "production", "DOCTOR_SELF_REGISTRATION": "false"}, "closed"),
        ({"DOCTOR_SELF_REGISTRATION": "false", "DOCTOR_REGISTRATION": "closed"}, "closed"),
        ({"CARECONNECT_ENV": "production", "DOCTOR_SELF_REGISTRATION": "true"}, "review"),
    ],
)
def test_doctor_registration_defaults_by_environment(env, mode):
    assert load_settings({"SECRET_KEY": STRONG_SECRET, **env}).doctor_signup == mode


@pytest.mark.parametrize(
    "env",
    [
        {"DOCTOR_REGISTRATION": "maybe"},
        {"DOCTOR_REGISTRATION": "open", "DOCTOR_SELF_REGISTRATION": "false"},
    ],
)
def test_bad_doctor_registration_names_the_setting(env):
    with pytest.raises(SettingsError, match="DOCTOR_REGISTRATION"):
        load_settings({"SECRET_KEY": STRONG_SECRET, **env})


# issue 15: throttle
def test_throttle_and_user_send_limit_settings():
    defaults = load_settings({"SECRET_KEY": GOOD_SECRET})
    assert (defaults.throttle_per_pair, defaults.throttle_per_pair_under_attack) == (5, 2)
    assert (defaults.throttle_per_account, defaults.throttle_per_address, defaults.throttle_window_s) == (20, 100, 900)
    assert defaults.ws_user_send_limit == 60
    settings = load_settings(
        {
            "SECRET_KEY": GOOD_SECRET,
            "THROTTLE_PER_PAIR": "8",
            "THROTTLE_PER_ADDRESS": "500",
            "THROTTLE_WINDOW_S": "600",
            "WS_USER_SEND_LIMIT": "120",
        }
    )
    assert (settings.throttle_per_pair, settings.throttle_per_address, settings.throttle_window_s) == (8, 500, 600)
    assert settings.ws_user_send_limit == 120


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("THROTTLE_PER_PAIR", "0"),
        ("THROTTLE_PER_PAIR_UNDER_ATTACK", "lots"),
        ("THROTTLE_PER_ACCOUNT", "-1"),
        ("THROTTLE_PER_ADDRESS", "0"),
        ("THROTTLE_WINDOW_S", "1"),
        ("WS_USER_SEND_LIMIT", "0"),
    ],
)
def test_bad_throttle_settings_name_the_setting(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({"SECRET_KEY": GOOD_SECRET, name: value})


# issue 15: audit, logs and sessions
STRONG = "3f9c1e7a5b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e"  # like openssl rand -hex 32


@pytest.mark.parametrize("secret", ["a" * 40, "ab" * 20, "0123456789" * 3, "short-but-varied-1234"])
def test_production_refuses_a_weak_secret_key(secret):
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings({"CARECONNECT_ENV": "production", "SECRET_KEY": secret})


def test_production_defaults_for_sessions_and_proxies():
    settings = load_settings({"CARECONNECT_ENV": "production", "SECRET_KEY": STRONG})
    assert settings.secret_key == STRONG and settings.trusted_proxies == ()
    assert settings.session_max_hours == 720 and settings.session_max_hours_staff == 12
    assert settings.session_idle_minutes == 60 and settings.cookie_secure is True
    development = load_settings({"SECRET_KEY": GOOD_SECRET})  # "s" * 40 is fine outside production
    assert development.session_max_hours == development.session_max_hours_staff == 720
    assert development.session_idle_minutes is None


def test_session_and_proxy_settings_are_parsed():
    settings = load_settings(
        {
            "CARECONNECT_ENV": "production",
            "SECRET_KEY": STRONG,
            "TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16,::1",
            "SESSION_MAX_HOURS": "48",
            "SESSION_IDLE_MINUTES": "off",
        }
    )
    assert settings.trusted_proxies == ("10.0.0.5", "10.1.0.0/16", "::1")
    assert settings.session_max_hours == settings.session_max_hours_staff == 48  # one explicit limit for all
    assert settings.session_idle_minutes is None
    staff = load_settings({"SECRET_KEY": GOOD_SECRET, "SESSION_MAX_HOURS_STAFF": "8", "SESSION_IDLE_MINUTES": "15"})
    assert load_settings({"SECRET_KEY": GOOD_SECRET, "ACCESS_TOKEN_MINUTES": "5", "SESSION_IDLE_MINUTES": "5"})
    assert staff.session_max_hours == 720 and staff.session_max_hours_staff == 8 and staff.session_idle_minutes == 15


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"}, "TRUSTED_PROXIES"),
        ({"SESSION_MAX_HOURS": "0"}, "SESSION_MAX_HOURS"),
        ({"SESSION_MAX_HOURS_STAFF": "forever"}, "SESSION_MAX_HOURS_STAFF"),
        ({"SESSION_IDLE_MINUTES": "1"}, "SESSION_IDLE_MINUTES"),
        ({"SESSION_IDLE_MINUTES": "10"}, "SESSION_IDLE_MINUTES"),  # shorter than a 15-minute access token
    ],
)
def test_bad_session_and_proxy_values_name_the_setting(env, named):
    with pytest.raises(SettingsError, match=named):
        load_settings({"SECRET_KEY": GOOD_SECRET, **env})


def test_production_start_refuses_a_weak_secret_key_with_a_message():
    result = subprocess.run(
        [sys.executable, "-m", "careconnect", "serve", "--port", "1"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "CARECONNECT_ENV": "production", "SECRET_KEY": "a" * 40},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def test_a_dotenv_file_fills_what_the_environment_leaves_unset(tmp_path):
    dotenv = tmp_path / "site.env"
    dotenv.write_text(f"SECRET_KEY={GOOD_SECRET}\nLOG_LEVEL=WARNING\n# a comment\nREDIS_URL=redis://127.0.0.1:6399/2\n")
    env = process_environment({"ENV_FILE": str(dotenv), "LOG_LEVEL": "DEBUG"})
    assert env["SECRET_KEY"] == GOOD_SECRET and env["REDIS_URL"] == "redis://127.0.0.1:6399/2"
    assert env["LOG_LEVEL"] == "DEBUG"  # the process environment wins
    assert load_settings(env).redis_url == "redis://127.0.0.1:6399/2"
    with pytest.raises(SettingsError, match="ENV_FILE"):
        process_environment({"ENV_FILE": str(tmp_path / "missing.env")})


def test_secrets_can_come_from_files(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text(GOOD_SECRET + "\n")  # as `echo` writes it: the line break is not part of it
    database = tmp_path / "database_url"
    database.write_text("postgresql://app:s3cret@db.internal:5432/care")
    env = process_environment({"SECRET_KEY_FILE": str(secret), "DATABASE_URL_FILE": str(database)})
    assert "SECRET_KEY_FILE" not in env
    settings = load_settings(env)
    assert (
        settings.secret_key == GOOD_SECRET and settings.database_url == "postgresql://app:s3cret@db.internal:5432/care"
    )
    with pytest.raises(SettingsError, match="not both"):
        process_environment({"SECRET_KEY": GOOD_SECRET, "SECRET_KEY_FILE": str(secret)})
    with pytest.raises(SettingsError, match="SECRET_KEY_FILE .* cannot be read"):
        process_environment({"SECRET_KEY_FILE": str(tmp_path / "nowhere")})
    assert "SMTP_CA_FILE" in process_environment({"SMTP_CA_FILE": "/etc/ssl/ca.pem"})  # a setting of its own, kept


def test_storage_and_attachment_settings():
    defaults = load_settings({})
    assert defaults.storage_url == "file://var/attachments"
    assert defaults.attachment_max_bytes == 10 * 1024 * 1024
    values = load_settings(
        {
            "STORAGE_URL": "s3://bucket/files",
            "S3_ENDPOINT_URL": "http://minio:9000/",
            "S3_ACCESS_KEY_ID": "k",
            "S3_SECRET_ACCESS_KEY": "s",
            "ATTACHMENT_MAX_BYTES": "2048",
        }
    )
    assert (values.storage_url, values.s3_endpoint_url, values.s3_access_key_id) == (
        "s3://bucket/files",
        "http://minio:9000",
        "k",
    )
    assert values.attachment_max_bytes == 2048
    assert load_settings({"STORAGE_URL": "postgres"}).storage_url == "postgres"
    for env, named in (
        ({"STORAGE_URL": "ftp://x"}, "STORAGE_URL"),
        ({"STORAGE_URL": "s3://"}, "STORAGE_URL"),
        ({"S3_ENDPOINT_URL": "minio:9000"}, "S3_ENDPOINT_URL"),
        ({"ATTACHMENT_MAX_BYTES": "10"}, "ATTACHMENT_MAX_BYTES"),
        ({"ATTACHMENT_MAX_PIXELS": "lots"}, "ATTACHMENT_MAX_PIXELS"),
    ):
        with pytest.raises(SettingsError, match=named):
            load_settings(env)


def test_the_read_replica_setting() -> None:
    primary = {"DATABASE_URL": "postgresql://app@db:5432/cc"}
    assert load_settings(primary).database_replica_url is None
    assert load_settings({**primary, "DATABASE_REPLICA_URL": " "}).database_replica_url is None  # empty: off
    url = "postgresql://app:pw@replica:5432/cc"
    assert load_settings({**primary, "DATABASE_REPLICA_URL": url}).database_replica_url == url
    with pytest.raises(SettingsError, match="needs a PostgreSQL DATABASE_URL") as sqlite:
        load_settings({"DATABASE_REPLICA_URL": url})  # the SQLite default
    assert "pw" not in str(sqlite.value)
    for bad in ("sqlite:///var/r.db", "mysql://replica/cc", "postgresql://"):
        with pytest.raises(SettingsError, match="DATABASE_REPLICA_URL") as error:
            load_settings({**primary, "DATABASE_REPLICA_URL": bad})
        assert "pw" not in str(error.value)


def test_the_read_replica_url_may_come_from_a_file(tmp_path) -> None:
    secret = tmp_path / "replica_url"
    secret.write_text("postgresql://app:pw@replica:5432/cc\n")
    env = process_environment({"DATABASE_URL": "postgresql://app@db:5432/cc", "DATABASE_REPLICA_URL_FILE": str(secret)})
    assert load_settings(env).database_replica_url == "postgresql://app:pw@replica:5432/cc"
