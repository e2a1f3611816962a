"""What the OpenAPI document promises a client generator (careconnect.openapi).

Errors are problem+json with the ``Problem`` schema, never Litestar's ``{status_code, detail,
extra}``; operationIds are clean and unique; public routes need no token and every guarded one
needs the bearer token; the honoured headers are declared; the main bodies have examples that
decode into their Structs; and Litestar's CLI builds the same document from the app.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from careconnect.domain.accounts import schemas as accounts
from careconnect.domain.appointments import schemas as appointments
from careconnect.domain.consultations import schemas as consultations
from careconnect.domain.scheduling import schemas as scheduling
from careconnect.openapi import EXAMPLES
from tests.openapi_dump import openapi_document

METHODS = ("get", "put", "post", "delete", "patch")
PUBLIC = {
    "auth_login",
    "auth_login_mfa",
    "auth_register",
    "auth_token",
    "auth_refresh",
    "auth_logout",
    "auth_verify_email",
    "auth_request_password_reset",
    "auth_reset_password",
    "operations_healthz",
    "operations_readyz",
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                assert operation["operationId"] not in found, f"{operation['operationId']} is not unique"
                found[operation["operationId"]] = (method, path, operation)
    return found


def test_every_error_is_problem_json(document: dict[str, Any]) -> None:
    for name, (_, _, operation) in operations(document).items():
        for status, response in operation["responses"].items():
            if status == "default" or status.startswith("4"):
                assert list(response["content"]) == ["application/problem+json"], f"{name} {status}"
                assert response["content"]["application/problem+json"]["schema"] == PROBLEM_REF, f"{name} {status}"
        assert "default" in operation["responses"], name
    rendered = json.dumps(document)
    assert '"status_code"' not in rendered, "Litestar's {status_code, detail, extra} error is still documented"
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"title", "status", "detail", "code", "request_id"}
    assert {"type", "errors"} <= set(problem["properties"])


def test_the_statuses_follow_from_the_route(document: dict[str, Any]) -> None:
    ops = operations(document)
    booking = ops["appointments_create"][2]["responses"]
    assert {"201", "200", "400", "401", "403", "409", "413", "422"} <= set(booking)
    assert "404" not in booking  # no path parameter, nothing to find
    assert {"401", "403", "429"} <= set(ops["auth_login"][2]["responses"])
    assert "404" in ops["appointments_get"][2]["responses"]
    assert set(ops["operations_healthz"][2]["responses"]) == {"200", "default"}
    retry = ops["auth_login"][2]["responses"]["429"]["headers"]["Retry-After"]
    assert retry["schema"]["type"] == "integer"
    assert "application/json" in ops["operations_readyz"][2]["responses"]["503"]["content"]


def test_operation_ids_are_clean_and_unique(document: dict[str, Any]) -> None:
    ids = operations(document)
    assert len(ids) >= 60
    for name in ids:
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", name), name
    assert {"auth_login", "appointments_list", "appointments_create", "mfa_status", "doctors_free_slots"} <= set(ids)


def test_public_routes_need_no_token_and_guarded_ones_do(document: dict[str, Any]) -> None:
    assert "security" not in document  # no blanket requirement: each operation says its own
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerToken"]["scheme"] == "bearer"
    assert schemes["RefreshCookie"] == {
        **schemes["RefreshCookie"],
        "type": "apiKey",
        "in": "cookie",
        "name": "cc_refresh",
    }
    for name, (_, path, operation) in operations(document).items():
        security = operation.get("security", [])
        if name in PUBLIC:
            assert {"BearerToken": []} not in security or {} in security, f"{name} claims to need a token"
        else:
            assert security == [{"BearerToken": []}], f"{name} ({path}) does not ask for the bearer token"
    assert operations(document)["auth_refresh"][2]["security"] == [{"RefreshCookie": []}]


def _header(operation: dict[str, Any], name: str) -> dict[str, Any]:
    headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
    assert name in headers, f"{operation['operationId']} does not declare {name}"
    return headers[name]


def test_the_honoured_headers_are_declared(document: dict[str, Any]) -> None:
    ops = operations(document)
    assert not _header(ops["appointments_create"][2], "Idempotency-Key")["required"]
    assert not _header(ops["consultations_write_notes"][2], "If-Match")["required"]
    assert not _header(ops["consultations_write_summary"][2], "If-Match")["required"]
    assert not _header(ops["auth_refresh"][2], "X-CSRF")["required"]


STRUCTS: dict[str, type] = {
    "LoginIn": accounts.LoginIn,
    "MfaLoginIn": accounts.MfaLoginIn,
    "RegisterIn": accounts.RegisterIn,
    "ClientCredentialsIn": accounts.ClientCredentialsIn,
    "PasswordResetRequestIn": accounts.PasswordResetRequestIn,
    "PasswordResetIn": accounts.PasswordResetIn,
    "BookingIn": scheduling.BookingIn,
    "RescheduleIn": scheduling.RescheduleIn,
    "CancelIn": scheduling.CancelIn,
    "DocumentIn": consultations.DocumentIn,
    "InviteIn": consultations.InviteIn,
    "IntakeIn": appointments.IntakeIn,
}


def test_the_examples_decode_into_their_structs_and_are_documented(document: dict[str, Any]) -> None:
    assert set(EXAMPLES) == set(STRUCTS)
    for name, example in EXAMPLES.items():
        msgspec.json.decode(msgspec.json.encode(example), type=STRUCTS[name], strict=True)
    bodies = {
        ref.rsplit("/", 1)[-1]: media.get("examples", {})
        for _, _, operation in operations(document).values()
        for media in operation.get("requestBody", {}).get("content", {}).values()
        for ref in [media["schema"].get("$ref")] + [s.get("$ref") for s in media["schema"].get("oneOf", [])]
        if ref
    }
    for name, example in EXAMPLES.items():
        assert name in bodies, f"no request body is {name}"
        assert [e["value"] for e in bodies[name].values()] == [example], name


def test_litestar_cli_builds_the_same_document(tmp_path: Path, document: dict[str, Any]) -> None:
    cli = Path(sys.executable).with_name("litestar")
    env = {
        **os.environ,
        "LITESTAR_APP": "careconnect.app:create_app",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SECRET_KEY": "cli-" + "k" * 40,
        "ENVIRONMENT": "test",
        "COOKIE_SECURE": "false",
    }
    output = tmp_path / "openapi.json"
    made = subprocess.run(
        [str(cli), "schema", "openapi", "--output", str(output)], env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stdout + made.stderr
    from_cli = json.loads(output.read_text(encoding="utf-8"))
    assert from_cli["paths"].keys() == document["paths"].keys()
    assert operations(from_cli).keys() == operations(document).keys()
    routes = subprocess.run([str(cli), "routes"], env=env, capture_output=True, text=True, timeout=120)
    assert routes.returncode == 0, routes.stdout + routes.stderr
    assert "/api/v1/auth/login" in routes.stdout
