"""The ``careconnect`` command: its subcommands are declared beside their code and found by ``main``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from careconnect import cli
from careconnect.cli import Subcommand, command, main, subcommands


def test_every_subcommand_is_found_in_the_order_it_is_written():
    assert list(subcommands()) == ["serve", "migrate", "create-admin", "seed", "loadtest"]
    assert all(isinstance(found, Subcommand) for found in subcommands().values())


def test_a_declared_subcommand_is_still_called_as_the_function_was():
    @command("echo", "say how many arguments", lambda parser: parser.add_argument("words", nargs="*"))
    def echo(args: argparse.Namespace, settings: object) -> int:
        return len(args.words)

    assert isinstance(echo, Subcommand) and echo.name == "echo" and echo.help_text == "say how many arguments"
    parser = argparse.ArgumentParser()
    echo.arguments(parser)
    assert echo(parser.parse_args(["a", "b"]), None) == 2
    assert "echo" not in subcommands()  # declared inside a function: no global table remembers it


def test_main_lists_them_in_its_help(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "{serve,migrate,create-admin,seed,loadtest}" in capsys.readouterr().out
    assert not hasattr(cli, "COMMANDS")


def test_litestars_own_cli_builds_the_app(tmp_path):
    """``litestar routes`` and ``litestar schema openapi`` (the app factory reads the environment)."""
    env = {
        **os.environ,
        "SECRET_KEY": "c" * 40,
        "CARECONNECT_ENV": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }
    litestar = [sys.executable, "-m", "litestar", "--app", "careconnect.app:create_app"]
    routes = subprocess.run([*litestar, "routes"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert routes.returncode == 0, routes.stderr[-3000:]
    assert "/api/v1/auth/login" in routes.stdout
    out = tmp_path / "openapi.json"
    schema = subprocess.run(
        [*litestar, "schema", "openapi", "--output", str(out)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert schema.returncode == 0, schema.stderr[-3000:]
    assert "/api/v1/auth/login" in json.loads(out.read_text())["paths"]
