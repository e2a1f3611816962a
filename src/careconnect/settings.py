"""Typed settings, read once from the environment and passed into ``create_app``."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import msgspec

REPO_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = REPO_ROOT / "var"
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'careconnect.db'}"


class SettingsError(ValueError):
    """A setting has a value the server cannot start with; the message names the setting."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Everything the server can be told, with the embedded defaults."""

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str = ""
    jwt_algorithm: Literal["HS256", "EdDSA", "ES256"] = "HS256"
    # PEM keys for EdDSA / ES256: the private key signs, the public key verifies.
    jwt_private_key: str = ""
    jwt_public_key: str = ""
    jwt_issuer: str = "careconnect"
    jwt_audience: str = "careconnect-api"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    session_check_seconds: int = 30
    cookie_secure: bool = True
    cors_origins: tuple[str, ...] = ()
    doctor_self_registration: bool = True
    log_json: bool = False
    log_level: str = "INFO"
    max_body_bytes: int = 1_048_576
    web_dir: str = str(REPO_ROOT / "web" / "out")
    ws_max_frame_bytes: int = 65_536
    ws_send_limit: int = 20
    ws_send_window_s: float = 10.0
    ws_queue_size: int = 1000
    ws_max_rooms: int = 100
    ws_heartbeat_s: int = 25
    ws_hello_timeout_s: float = 10.0
    gc_young_threshold: int = 50_000
    enable_test_routes: bool = False
    # issue 15: MFA
    # Roles that must have an active second factor before using anything but their own account
    # and the enrolment endpoints (production default doctor,admin; bots are never subject).
    mfa_required_roles: tuple[str, ...] = ()
    # issue 15: access (doctor vetting)
    # open: a self-registered doctor is approved at once; review: pending until an admin approves;
    # closed: only admins create doctors. None: review in production, open elsewhere.
    doctor_registration: Literal["open", "review", "closed"] | None = None
    # issue 15: throttle (docs/security.md "Throttles"; attempts per THROTTLE_WINDOW_S)
    throttle_window_s: int = 900
    throttle_per_pair: int = 5
    throttle_per_pair_under_attack: int = 2
    throttle_per_account: int = 20
    throttle_per_address: int = 100
    ws_user_send_limit: int = 60

    @property
    def doctor_signup(self) -> Literal["open", "review", "closed"]:
        """How doctors may self-register (DOCTOR_SELF_REGISTRATION=false still means closed)."""
        if not self.doctor_self_registration:
            return "closed"
        if self.doctor_registration is not None:
            return self.doctor_registration
        return "review" if self.environment == "production" else "open"

    # issue 15: audit, logs and sessions
    trusted_proxies: tuple[str, ...] = ()  # IPs / CIDRs whose X-Forwarded-For and X-Request-ID count
    session_max_hours: int = 720  # absolute lifetime of a login (patients, and everyone by default)
    session_max_hours_staff: int = 720  # the same for doctors and admins (production: 12)
    session_idle_minutes: int | None = None  # no refresh for this long ends a login (production: 60)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path | None:
        if self.is_postgres:
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))


_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _bool(name: str, raw: str) -> bool:
    try:
        return _BOOL[raw.strip().lower()]
    except KeyError:
        raise SettingsError(f"{name} must be true or false, not {raw!r}") from None


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _check_database_url(url: str) -> str:
    if url.startswith(("postgres://", "postgresql://")):
        parsed = urlparse(url)
        if not parsed.hostname and not parsed.path.strip("/"):
            raise SettingsError("DATABASE_URL names no host or database: postgresql://user@host:5432/db")
        return url
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return url
    raise SettingsError(
        f"DATABASE_URL {url!r} is not a postgresql:// or sqlite:/// URL "
        "(for example sqlite:///var/careconnect.db or postgresql://postgres@127.0.0.1:5432/test)"
    )


def _check_redis_url(url: str) -> str:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"REDIS_URL {url!r} is not a redis:// or rediss:// URL")
    return url


def _dev_secret_key() -> str:
    """A secret generated once per checkout and kept under ./var, so dev restarts keep sessions."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    # Created 0600 before the key is written: no moment when another user could read it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


def weak_secret(secret: str) -> bool:
    """Too short or too uniform to sign tokens in production (40 x "a" is; ``openssl rand -hex 32`` is not)."""
    return len(secret) < 32 or len(set(secret)) < 10


def _check_trusted_proxies(raw: str) -> tuple[str, ...]:
    entries = tuple(e.strip() for e in raw.split(",") if e.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                f"TRUSTED_PROXIES entry {entry!r} is not an IP address or CIDR (for example 10.0.0.5,10.1.0.0/16)"
            ) from None
    return entries


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from the environment once; a bad value raises ``SettingsError``."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    environment = env.get("CARECONNECT_ENV", "development")
    if environment not in ("development", "production", "test"):
        raise SettingsError(f"CARECONNECT_ENV must be development, production or test, not {environment!r}")
    values["environment"] = environment
    if raw := env.get("DATABASE_URL"):
        url = _check_database_url(raw)
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            # A relative path is relative to the repository, where `make run` starts.
            url = f"sqlite:///{(REPO_ROOT / url.removeprefix('sqlite:///')).resolve()}"
        values["database_url"] = url
    if raw := env.get("REDIS_URL"):
        values["redis_url"] = _check_redis_url(raw)
    secret = env.get("SECRET_KEY", "")
    if secret and len(secret) < 32:
        raise SettingsError("SECRET_KEY must be at least 32 characters (try: openssl rand -hex 32)")
    if not secret:
        if environment == "production":
            raise SettingsError("SECRET_KEY is required in production (try: openssl rand -hex 32)")
        secret = _dev_secret_key()
    values["secret_key"] = secret
    algorithm = env.get("JWT_ALGORITHM", "HS256")
    if algorithm not in ("HS256", "EdDSA", "ES256"):
        raise SettingsError(f"JWT_ALGORITHM must be HS256, EdDSA or ES256, not {algorithm!r}")
    values["jwt_algorithm"] = algorithm
    if algorithm != "HS256":
        for name in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"):
            path = env.get(name)
            if not path or not Path(path).is_file():
                raise SettingsError(f"{name} must name a PEM file when JWT_ALGORITHM is {algorithm}")
            values[name.lower().removesuffix("_file")] = Path(path).read_text()
    if raw := env.get("ACCESS_TOKEN_MINUTES"):
        values["access_token_minutes"] = _int("ACCESS_TOKEN_MINUTES", raw, 1, 24 * 60)
    if raw := env.get("REFRESH_TOKEN_DAYS"):
        values["refresh_token_days"] = _int("REFRESH_TOKEN_DAYS", raw, 1, 365)
    if raw := env.get("COOKIE_SECURE"):
        values["cookie_secure"] = _bool("COOKIE_SECURE", raw)
    elif environment != "production":
        # http://127.0.0.1 in development: a Secure cookie would never be sent back.
        values["cookie_secure"] = False
    if raw := env.get("CORS_ORIGINS"):
        origins = tuple(o.strip() for o in raw.split(",") if o.strip())
        for origin in origins:
            if not origin.startswith(("http://", "https://")):
                raise SettingsError(f"CORS_ORIGINS entry {origin!r} must start with http:// or https://")
        values["cors_origins"] = origins
    if raw := env.get("DOCTOR_SELF_REGISTRATION"):
        values["doctor_self_registration"] = _bool("DOCTOR_SELF_REGISTRATION", raw)
    if raw := env.get("LOG_JSON"):
        values["log_json"] = _bool("LOG_JSON", raw)
    if raw := env.get("LOG_LEVEL"):
        level = raw.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {raw!r}")
        values["log_level"] = level
    if raw := env.get("WEB_DIR"):
        values["web_dir"] = raw
    if raw := env.get("WS_MAX_FRAME_BYTES"):
        values["ws_max_frame_bytes"] = _int("WS_MAX_FRAME_BYTES", raw, 1024, 16 * 1024 * 1024)
    for name, low, high in (
        ("WS_SEND_LIMIT", 1, 1_000_000),
        ("WS_QUEUE_SIZE", 10, 1_000_000),
        ("WS_MAX_ROOMS", 1, 100_000),
        ("WS_HEARTBEAT_S", 1, 3600),
        ("GC_YOUNG_THRESHOLD", 100, 10_000_000),
    ):
        if raw := env.get(name):
            values[name.lower()] = _int(name, raw, low, high)
    # issue 15: MFA
    raw_roles = env.get("MFA_REQUIRED_ROLES")
    if raw_roles is None:
        values["mfa_required_roles"] = ("doctor", "admin") if environment == "production" else ()
    else:
        roles = tuple(r.strip().lower() for r in raw_roles.split(",") if r.strip() and r.strip().lower() != "none")
        for role in roles:
            if role not in ("patient", "doctor", "admin"):
                raise SettingsError(
                    f"MFA_REQUIRED_ROLES entry {role!r} is not patient, doctor or admin (bots never use a second "
                    "factor); for example MFA_REQUIRED_ROLES=doctor,admin, or none"
                )
        values["mfa_required_roles"] = tuple(dict.fromkeys(roles))
    # issue 15: access (doctor vetting)
    if raw := env.get("DOCTOR_REGISTRATION"):
        mode = raw.strip().lower()
        if mode not in ("open", "review", "closed"):
            raise SettingsError(f"DOCTOR_REGISTRATION must be open, review or closed, not {raw!r}")
        if values.get("doctor_self_registration") is False and mode != "closed":
            raise SettingsError(
                f"DOCTOR_REGISTRATION={mode} contradicts DOCTOR_SELF_REGISTRATION=false: "
                "unset DOCTOR_SELF_REGISTRATION (DOCTOR_REGISTRATION=closed is its replacement)"
            )
        values["doctor_registration"] = mode
    # issue 15: throttle
    for name, low, high in (
        ("THROTTLE_WINDOW_S", 10, 86_400),
        ("THROTTLE_PER_PAIR", 1, 1000),
        ("THROTTLE_PER_PAIR_UNDER_ATTACK", 1, 1000),
        ("THROTTLE_PER_ACCOUNT", 1, 100_000),
        ("THROTTLE_PER_ADDRESS", 1, 1_000_000),
        ("WS_USER_SEND_LIMIT", 1, 1_000_000),
    ):
        if raw := env.get(name):
            values[name.lower()] = _int(name, raw, low, high)
    # issue 15: audit, logs and sessions
    if environment == "production" and weak_secret(str(values["secret_key"])):
        raise SettingsError(
            "SECRET_KEY is too weak for production: at least 32 characters with at least 10 different "
            "ones (try: openssl rand -hex 32)"
        )
    if raw := env.get("TRUSTED_PROXIES"):
        values["trusted_proxies"] = _check_trusted_proxies(raw)
    max_hours = _int("SESSION_MAX_HOURS", raw, 1, 24 * 366) if (raw := env.get("SESSION_MAX_HOURS")) else None
    values["session_max_hours"] = max_hours or 720
    if raw := env.get("SESSION_MAX_HOURS_STAFF"):
        values["session_max_hours_staff"] = _int("SESSION_MAX_HOURS_STAFF", raw, 1, 24 * 366)
    else:
        values["session_max_hours_staff"] = max_hours or (12 if environment == "production" else 720)
    raw = env.get("SESSION_IDLE_MINUTES", "")
    if raw.strip().lower() in ("none", "off"):
        values["session_idle_minutes"] = None
    elif raw:
        values["session_idle_minutes"] = _int("SESSION_IDLE_MINUTES", raw, 5, 366 * 24 * 60)
    elif environment == "production":
        values["session_idle_minutes"] = 60
    idle, access_minutes = values.get("session_idle_minutes"), values.get("access_token_minutes", 15)
    if isinstance(idle, int) and isinstance(access_minutes, int) and idle < access_minutes:
        # The limit is enforced on refresh: an access token must not outlive it.
        raise SettingsError(f"SESSION_IDLE_MINUTES ({idle}) must be at least ACCESS_TOKEN_MINUTES ({access_minutes})")
    return Settings(**values)  # type: ignore[arg-type]
