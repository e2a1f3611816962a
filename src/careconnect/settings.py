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

from careconnect.paths import HOME, VAR_DIR, WEB_DIR

REPO_ROOT = HOME  # relative paths in settings are relative to the home (the repository in a checkout)
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'careconnect.db'}"
SMTP_CONNECT_TIMEOUT_S, SMTP_TIMEOUT_S, OUTBOX_LEASE_S = 10.0, 30.0, 120.0


class SettingsError(ValueError):
    """A setting has a value the server cannot start with; the message names the setting."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Everything the server can be told, with the embedded defaults."""

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    # "transaction" behind PgBouncer in transaction mode: asyncpg keeps no prepared statements
    database_pool_mode: Literal["session", "transaction"] = "session"
    # the most PostgreSQL connections one worker opens: the ORM's pool and the message store's
    database_pool_size: int = 26
    # a streaming replica of DATABASE_URL for reads that tolerate lag (careconnect.db.from_replica)
    database_replica_url: str | None = None
    redis_cluster: bool = False  # REDIS_URL names one node of a Redis Cluster (sharded pub/sub)
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
    web_dir: str = str(WEB_DIR)
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
    # a refresh token presented again this soon after its rotation is a lost response, not a replay
    refresh_reuse_grace_seconds: int = 30
    # issue 21: OpenTelemetry (careconnect.tracing); the exporter reads OTEL_EXPORTER_OTLP_*
    tracing: Literal["off", "otlp", "console"] = "off"
    otel_service_name: str = "careconnect"
    # issue 17: mail and the outbox (docs/notifications.md)
    public_url: str = "http://127.0.0.1:8000"  # where the web app is, for the links in mails
    smtp_url: str | None = None  # None: every mail becomes an .eml file under mail_dir
    mail_from: str = "CareConnect Live <no-reply@careconnect.invalid>"
    mail_dir: str = str(VAR_DIR / "mail")
    smtp_ca_file: str | None = None  # a private CA's PEM for the SMTP server's certificate
    smtp_connect_timeout_s: float = SMTP_CONNECT_TIMEOUT_S
    smtp_timeout_s: float = SMTP_TIMEOUT_S  # each SMTP command after the greeting
    outbox_worker: bool = True  # run the outbox worker in every server worker
    outbox_poll_s: float = 1.0
    outbox_lease_s: float = OUTBOX_LEASE_S  # a claimed job is the claimer's for this long
    outbox_concurrency: int = 4
    outbox_retry_base_s: float = 30.0  # first retry after about this long, doubling each time
    outbox_retry_max_s: float = 3600.0
    outbox_give_up_s: float = 86_400.0  # a job still failing this long after it was due fails
    outbox_keep_days: int = 30  # finished jobs (and their dedupe keys) are kept this long
    readyz_timeout_s: float = 2.0  # a /readyz check that takes longer counts as unavailable
    no_show_after_minutes: float = 30.0  # a visit still booked / checked in this long after its end: no_show
    auto_complete_after_hours: float = 4.0  # a visit left in_progress this long after its end: completed
    # issue 19: video visits (docs/video.md); TURN credentials are coturn's use-auth-secret scheme
    stun_urls: tuple[str, ...] = ()  # e.g. stun:turn.example.org:3478
    turn_urls: tuple[str, ...] = ()  # e.g. turn:turn.example.org:3478?transport=udp, turns:…:5349
    turn_secret: str = ""  # coturn's static-auth-secret; required when TURN_URLS is set
    turn_ttl_s: int = 3600  # how long a TURN credential handed to a browser is valid
    ws_signal_limit: int = 200  # video call signals per connection per WS_SIGNAL_WINDOW_S
    ws_signal_window_s: float = 10.0
    # issue 20: attachments (docs/attachments.md)
    storage_url: str = "file://var/attachments"  # file://<folder> (relative: to the repo), postgres, s3://bucket/prefix
    s3_endpoint_url: str = ""  # an S3-compatible server (MinIO); empty for AWS S3
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""  # empty: the AWS_* variables of the environment
    s3_secret_access_key: str = ""
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_max_pixels: int = 50_000_000  # an image over this many pixels is refused (a decompression bomb)
    # issue 21: webhooks (docs/integrations.md, docs/security.md "Webhooks and SSRF")
    webhook_allow_private: bool | None = None  # None: allowed outside production only
    webhook_timeout_s: float = 10.0  # each delivery: connect, send and the receiver's answer
    webhook_concurrency: int = 8  # deliveries in flight per server worker
    webhook_retry_base_s: float = 10.0  # first retry after about this long, doubling each time
    webhook_retry_max_s: float = 3600.0
    webhook_give_up_s: float = 86_400.0  # a delivery still failing this long after its first try fails

    @property
    def webhooks_reach_private(self) -> bool:
        """May webhooks point at loopback, private and link-local addresses? Only outside
        production unless WEBHOOK_ALLOW_PRIVATE says otherwise."""
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return self.environment != "production"

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


def _check_replica_url(url: str, database_url: str) -> str:
    """``DATABASE_REPLICA_URL``: a PostgreSQL streaming replica of a PostgreSQL ``DATABASE_URL``."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SettingsError(
            "DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL (the replica copies it); "
            "unset DATABASE_REPLICA_URL with SQLite"
        )
    if not url.startswith(("postgres://", "postgresql://")):
        raise SettingsError(
            "DATABASE_REPLICA_URL is not a postgresql:// URL (for example postgresql://app@replica.internal:5432/careconnect)"
        )
    parsed = urlparse(url)
    if not parsed.hostname and not parsed.path.strip("/"):
        raise SettingsError("DATABASE_REPLICA_URL names no host or database: postgresql://user@host:5432/db")
    return url


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


# Secrets that may instead be given as the path of a file holding them (``SECRET_KEY_FILE``),
# as container secrets and systemd credentials are mounted.
FILE_VARIANTS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "REDIS_URL",
    "SMTP_URL",
    "TURN_SECRET",
    "STORAGE_URL",
    "S3_SECRET_ACCESS_KEY",
    "CARECONNECT_ADMIN_PASSWORD",
)


def process_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables the server reads: the process environment over the ``.env`` file (``ENV_FILE``,
    else ``.env`` in the home; a variable already set wins), with each ``<NAME>_FILE`` of
    ``FILE_VARIANTS`` replaced by the file's content."""
    from dotenv import dotenv_values  # noqa: PLC0415 - only the real environment needs it

    env = dict(os.environ if environ is None else environ)
    named = env.get("ENV_FILE")
    path = Path(named) if named else HOME / ".env"
    if named and not path.is_file():
        raise SettingsError(f"ENV_FILE {named!r} is not a file")
    if path.is_file():
        env = {**{k: v for k, v in dotenv_values(path).items() if v is not None}, **env}
    for name in FILE_VARIANTS:
        if not (file := env.pop(f"{name}_FILE", None)):
            continue
        if env.get(name):
            raise SettingsError(f"set {name} or {name}_FILE, not both")
        try:
            env[name] = Path(file).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{name}_FILE {file!r} cannot be read: {exc.__class__.__name__}") from None
    return env


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from the environment once; a bad value raises ``SettingsError``.

    Without ``environ``, the process environment with ``.env`` and the ``*_FILE`` secrets
    (``process_environment``)."""
    env = process_environment() if environ is None else environ
    values: dict[str, object] = {}
    environment = env.get("CARECONNECT_ENV", "development")
    if environment not in ("development", "production", "test"):
        raise SettingsError(f"CARECONNECT_ENV must be development, production or test, not {environment!r}")
    values["environment"] = environment
    if raw := env.get("DATABASE_URL"):
        url = _check_database_url(raw)
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            # A relative path is relative to the home: the repository, where `make run` starts.
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
    if raw := env.get("REDIS_CLUSTER"):
        values["redis_cluster"] = _bool("REDIS_CLUSTER", raw)
        if values["redis_cluster"] and not env.get("REDIS_URL"):
            raise SettingsError("REDIS_CLUSTER=true needs REDIS_URL (any node of the cluster)")
    pool_mode = env.get("DATABASE_POOL_MODE", "session").strip().lower() or "session"
    if pool_mode not in ("session", "transaction"):
        raise SettingsError(f"DATABASE_POOL_MODE must be session or transaction, not {pool_mode!r}")
    values["database_pool_mode"] = pool_mode
    if raw := env.get("DATABASE_POOL_SIZE", "").strip():
        values["database_pool_size"] = _int("DATABASE_POOL_SIZE", raw, 6, 1000)
    if raw := env.get("DATABASE_REPLICA_URL", "").strip():
        values["database_replica_url"] = _check_replica_url(raw, str(values.get("database_url", DEFAULT_DATABASE_URL)))
    tracing = env.get("TRACING", "off").strip().lower() or "off"
    if tracing not in ("off", "otlp", "console"):
        raise SettingsError(f"TRACING must be off, otlp or console, not {tracing!r}")
    values["tracing"] = tracing
    if raw := env.get("OTEL_SERVICE_NAME"):
        values["otel_service_name"] = raw.strip()[:100]
    if raw := env.get("REFRESH_REUSE_GRACE_SECONDS"):
        values["refresh_reuse_grace_seconds"] = _int("REFRESH_REUSE_GRACE_SECONDS", raw, 0, 300)
    idle, access_minutes = values.get("session_idle_minutes"), values.get("access_token_minutes", 15)
    if isinstance(idle, int) and isinstance(access_minutes, int) and idle < access_minutes:
        # The limit is enforced on refresh: an access token must not outlive it.
        raise SettingsError(f"SESSION_IDLE_MINUTES ({idle}) must be at least ACCESS_TOKEN_MINUTES ({access_minutes})")
    # issue 17: mail and the outbox
    _mail_settings(env, environment, values)
    _video_settings(env, values)  # issue 19
    _storage_settings(env, values)
    _webhook_settings(env, values)  # issue 21
    return Settings(**values)  # type: ignore[arg-type]


def _mail_settings(env: Mapping[str, str], environment: str, values: dict[str, object]) -> None:
    """PUBLIC_URL, SMTP_URL, MAIL_FROM, MAIL_DIR, SMTP_* and OUTBOX_* (docs/notifications.md)."""
    if raw := env.get("PUBLIC_URL"):
        parsed = urlparse(raw)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SettingsError(
                f"PUBLIC_URL {raw!r} is not an http:// or https:// URL (for example https://care.example.org)"
            )
        values["public_url"] = raw.rstrip("/")
    if raw := env.get("SMTP_URL"):
        from careconnect.mail.smtp import parse_smtp_url

        try:
            parse_smtp_url(raw)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        values["smtp_url"] = raw
    if raw := env.get("MAIL_FROM"):
        from email.utils import parseaddr

        if "@" not in parseaddr(raw)[1]:
            raise SettingsError(f"MAIL_FROM {raw!r} is not an address (for example CareConnect <no-reply@example.org>)")
        values["mail_from"] = raw
    if environment == "production" and values.get("smtp_url"):
        for name in ("MAIL_FROM", "PUBLIC_URL"):
            if not env.get(name):
                raise SettingsError(f"{name} is required in production when SMTP_URL is set (mails carry it)")
    if raw := env.get("MAIL_DIR"):
        values["mail_dir"] = str(REPO_ROOT / raw) if not raw.startswith("/") else raw
    if raw := env.get("SMTP_CA_FILE"):
        if not Path(raw).is_file():
            raise SettingsError(f"SMTP_CA_FILE {raw!r} is not a file (a PEM with the CA that signed the server)")
        values["smtp_ca_file"] = raw
    if raw := env.get("OUTBOX_WORKER"):
        values["outbox_worker"] = _bool("OUTBOX_WORKER", raw)
    for name, low, high in (
        ("SMTP_CONNECT_TIMEOUT_S", 1, 300),
        ("SMTP_TIMEOUT_S", 1, 600),
        ("OUTBOX_POLL_S", 1, 3600),
        ("OUTBOX_LEASE_S", 10, 86_400),
        ("OUTBOX_CONCURRENCY", 1, 100),
        ("OUTBOX_RETRY_BASE_S", 1, 86_400),
        ("OUTBOX_RETRY_MAX_S", 1, 86_400),
        ("OUTBOX_GIVE_UP_S", 60, 30 * 86_400),
        ("OUTBOX_KEEP_DAYS", 1, 3650),
        ("READYZ_TIMEOUT_S", 1, 60),
    ):
        if raw := env.get(name):
            number = _int(name, raw, low, high)
            values[name.lower()] = number if name in ("OUTBOX_CONCURRENCY", "OUTBOX_KEEP_DAYS") else float(number)
    timing = {k: v for k, v in values.items() if isinstance(v, float)}
    lease = timing.get("outbox_lease_s", OUTBOX_LEASE_S)
    connect = timing.get("smtp_connect_timeout_s", SMTP_CONNECT_TIMEOUT_S)
    command = timing.get("smtp_timeout_s", SMTP_TIMEOUT_S)
    if lease < 2 * (connect + command):
        # A send must end well inside its claim, or a second worker could claim it meanwhile.
        raise SettingsError(
            f"OUTBOX_LEASE_S ({lease:g}) must be at least twice SMTP_CONNECT_TIMEOUT_S + SMTP_TIMEOUT_S "
            f"({2 * (connect + command):g})"
        )


def _video_settings(env: Mapping[str, str], values: dict[str, object]) -> None:
    """STUN_URLS, TURN_URLS, TURN_SECRET, TURN_TTL_S and WS_SIGNAL_LIMIT (docs/video.md)."""
    for name, schemes in (("STUN_URLS", ("stun:", "stuns:")), ("TURN_URLS", ("turn:", "turns:"))):
        if raw := env.get(name):
            urls = tuple(u.strip() for u in raw.split(",") if u.strip())
            for url in urls:
                if not url.startswith(schemes):
                    raise SettingsError(
                        f"{name} entry {url!r} must start with {' or '.join(schemes)} (for example "
                        f"{schemes[0]}turn.example.org:3478)"
                    )
            values[name.lower()] = urls
    if raw := env.get("TURN_SECRET"):
        values["turn_secret"] = raw
    if values.get("turn_urls") and len(str(values.get("turn_secret", ""))) < 16:
        raise SettingsError(
            "TURN_URLS needs TURN_SECRET: coturn's static-auth-secret, at least 16 characters "
            "(try: openssl rand -hex 32)"
        )
    if raw := env.get("TURN_TTL_S"):
        values["turn_ttl_s"] = _int("TURN_TTL_S", raw, 60, 86_400)
    if raw := env.get("WS_SIGNAL_LIMIT"):
        values["ws_signal_limit"] = _int("WS_SIGNAL_LIMIT", raw, 1, 100_000)


def _storage_settings(env: Mapping[str, str], values: dict[str, object]) -> None:
    """STORAGE_URL, S3_* and ATTACHMENT_* (docs/attachments.md)."""
    from careconnect.storage.config import check_storage_url

    if raw := env.get("STORAGE_URL"):
        try:
            values["storage_url"] = check_storage_url(raw.strip())
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    if raw := env.get("S3_ENDPOINT_URL"):
        if urlparse(raw).scheme not in ("http", "https"):
            raise SettingsError(
                f"S3_ENDPOINT_URL {raw!r} is not an http:// or https:// URL (for example http://minio:9000)"
            )
        values["s3_endpoint_url"] = raw.rstrip("/")
    for name in ("S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"):
        if raw := env.get(name):
            values[name.lower()] = raw
    if raw := env.get("ATTACHMENT_MAX_BYTES"):
        values["attachment_max_bytes"] = _int("ATTACHMENT_MAX_BYTES", raw, 1024, 1024 * 1024 * 1024)
    if raw := env.get("ATTACHMENT_MAX_PIXELS"):
        values["attachment_max_pixels"] = _int("ATTACHMENT_MAX_PIXELS", raw, 10_000, 500_000_000)


def _webhook_settings(env: Mapping[str, str], values: dict[str, object]) -> None:
    """WEBHOOK_ALLOW_PRIVATE, WEBHOOK_TIMEOUT_S, WEBHOOK_CONCURRENCY and WEBHOOK_RETRY_* (docs/integrations.md)."""
    if raw := env.get("WEBHOOK_ALLOW_PRIVATE"):
        values["webhook_allow_private"] = _bool("WEBHOOK_ALLOW_PRIVATE", raw)
    if raw := env.get("WEBHOOK_CONCURRENCY"):
        values["webhook_concurrency"] = _int("WEBHOOK_CONCURRENCY", raw, 1, 1000)
    for name, low, high in (
        ("WEBHOOK_TIMEOUT_S", 1, 60),
        ("WEBHOOK_RETRY_BASE_S", 1, 86_400),
        ("WEBHOOK_RETRY_MAX_S", 1, 86_400),
        ("WEBHOOK_GIVE_UP_S", 60, 30 * 86_400),
    ):
        if raw := env.get(name):
            values[name.lower()] = float(_int(name, raw, low, high))
