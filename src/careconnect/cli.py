"""The ``careconnect`` command: serve, migrate, create-admin, seed, loadtest."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from careconnect.settings import Settings, SettingsError, load_settings, process_environment

Run = Callable[[argparse.Namespace, Settings], int]
Arguments = Callable[[argparse.ArgumentParser], None]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True)
class Subcommand:
    """``careconnect NAME``: its help line, its arguments, and what it runs (called as the function was)."""

    name: str
    help_text: str
    arguments: Arguments
    run: Run

    def __call__(self, args: argparse.Namespace, settings: Settings) -> int:
        return self.run(args, settings)


def command(name: str, help_text: str, arguments: Arguments = _no_arguments) -> Callable[[Run], Subcommand]:
    """Declare a subcommand; modules beside their features declare theirs the same way (seed, loadtest).

    ``main`` finds every ``Subcommand`` in this module and in ``EXTENSIONS``: nothing is registered
    in a global table.
    """

    def declare(fn: Run) -> Subcommand:
        return Subcommand(name, help_text, arguments, fn)

    return declare


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    parser.add_argument("--reload", action="store_true", help="restart on code changes (development)")


@command("serve", "serve the API, the hub and the web client", _serve_args)
def serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and not settings.is_postgres and settings.redis_url is None:
        print(
            "note: several workers share the SQLite file, but without REDIS_URL a chat message "
            "reaches only the members on the same worker; set REDIS_URL=redis://127.0.0.1:6379 "
            "to fan out across workers.",
            file=sys.stderr,
        )
    if args.workers > 1 and not args.reload:
        from careconnect.paths import VAR_DIR
        from careconnect.worker_metrics import ENV, prepare_shared_folder

        # One /metrics scrape covers every worker (careconnect.worker_metrics).
        prepare_shared_folder(Path(os.environ.get(ENV) or VAR_DIR / "metrics" / str(args.port)))
    print(
        f"CareConnect Live on http://{args.host}:{args.port} "
        f"({'PostgreSQL' if settings.is_postgres else 'SQLite ' + str(settings.sqlite_path)}, "
        f"{'Redis broker' if settings.redis_url else 'in-process broker'}, {args.workers} worker(s))",
        file=sys.stderr,
    )
    uvicorn.run(
        "careconnect.asgi:build_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=None if args.reload else args.workers,
        reload=args.reload,
        log_config=None,
        access_log=False,
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (its FORWARDED_ALLOW_IPS
        # default) and rewrite the socket peer: the app alone decides, from TRUSTED_PROXIES
        # (careconnect.request_context), so the audit, throttles and logs agree on one address.
        proxy_headers=False,
        # The sans-I/O websockets implementation waits while the transport is paused, so a
        # client that stops reading fills the hub's bounded queue (and is closed with 4429)
        # instead of growing an unbounded transport buffer; it also reads through a plain queue
        # where the legacy implementation ran asyncio.wait() per received frame (docs/benchmarks.md).
        ws="websockets-sansio",
        ws_max_size=settings.ws_max_frame_bytes,
        # The hub runs its own heartbeat (ping/pong frames, PROTOCOL.md), so uvicorn's keepalive
        # task per socket is redundant. No permessage-deflate: chat frames are small, and a zlib
        # context per socket costs more memory and CPU than it saves bytes (docs/benchmarks.md).
        ws_ping_interval=None,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
    return 0


@command("migrate", "apply the Piccolo migrations to DATABASE_URL")
def migrate(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run_migrations(settings))


async def run_migrations(settings: Settings) -> int:
    os.environ["DATABASE_URL"] = settings.database_url
    os.environ["PICCOLO_CONF"] = "careconnect.piccolo_conf"  # in the package: works from a wheel too
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all", migration_id="all")
    if not result.success:
        print(f"migration failed: {result.message}", file=sys.stderr)
        return 1
    if not settings.is_postgres:
        from careconnect.db import engine_from_url

        await engine_from_url(settings.database_url).run_ddl("PRAGMA journal_mode=WAL")
    return 0


ADMIN_PASSWORD_ENV = "CARECONNECT_ADMIN_PASSWORD"


def _admin_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument(
        "--password",
        help=f"visible to other users of this machine (ps, shell history): prefer ${ADMIN_PASSWORD_ENV} or the prompt",
    )
    parser.add_argument("--name", default="Administrator")


def _admin_password(args: argparse.Namespace) -> str | None:
    """--password (with a warning), else $CARECONNECT_ADMIN_PASSWORD, else asked twice without echo."""
    if args.password is not None:
        print(
            f"create-admin: warning: a password given with --password is visible to other users of this "
            f"machine (process list, shell history); set {ADMIN_PASSWORD_ENV} or leave it out to be asked",
            file=sys.stderr,
        )
        return str(args.password)
    if from_env := process_environment().get(ADMIN_PASSWORD_ENV):  # .env and the _FILE variant too
        return from_env
    import getpass

    try:
        first = getpass.getpass("Password for the new admin: ")
        second = getpass.getpass("The same password again: ")
    except (EOFError, KeyboardInterrupt):
        print(f"create-admin: no password given (set {ADMIN_PASSWORD_ENV} when there is no terminal)", file=sys.stderr)
        return None
    if first != second:
        print("create-admin: the two passwords differ; nothing was created", file=sys.stderr)
        return None
    return first


@command("create-admin", "create an admin account", _admin_args)
def create_admin(args: argparse.Namespace, settings: Settings) -> int:
    import msgspec

    from careconnect.db import bind_tables, engine_from_url
    from careconnect.domain.accounts.schemas import Email, Password
    from careconnect.domain.accounts.users import create_user
    from careconnect.domain.errors import DomainError

    password = _admin_password(args)
    if password is None:
        return 2
    try:
        msgspec.convert(args.email, Email)
        msgspec.convert(password, Password)
    except msgspec.ValidationError as exc:
        print(f"create-admin: {exc} (email must look like a@b.c; password 10-128 characters)", file=sys.stderr)
        return 2

    async def run() -> int:
        bind_tables(engine_from_url(settings.database_url, pool_mode=settings.database_pool_mode))
        try:
            row = await create_user(
                email=args.email, password=password, full_name=args.name, role="admin", email_verified=True
            )
        except DomainError as exc:
            print(f"create-admin: {exc.detail}", file=sys.stderr)
            return 1
        print(f"admin {row['email']} created (id {row['id']})")
        return 0

    return asyncio.run(run())


# Modules whose subcommands live beside their features (imported only when present).
EXTENSIONS = ("careconnect.seed", "careconnect.loadtest.cli")


def _extensions() -> Iterator[ModuleType]:
    import importlib

    for module in EXTENSIONS:
        try:
            yield importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise


def subcommands() -> dict[str, Subcommand]:
    """Every subcommand, by name: this module's, then each extension's, in the order they are written."""
    found: dict[str, Subcommand] = {}
    for module in (sys.modules[__name__], *_extensions()):
        for value in vars(module).values():
            if isinstance(value, Subcommand):
                found[value.name] = value
    return found


def main(argv: Sequence[str] | None = None) -> int:
    commands = subcommands()
    parser = argparse.ArgumentParser(prog="careconnect", description="CareConnect Live server")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, found in commands.items():
        found.arguments(sub.add_parser(name, help=found.help_text))
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"careconnect: configuration error: {exc}", file=sys.stderr)
        return 2
    return commands[args.command](args, settings)
