"""The error-contract check (tests/error_contract.py) refuses what it should, and passes the rest."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.error_contract import ErrorContract
from tests.openapi_dump import openapi_document

PROBLEM = {
    "type": "about:blank",
    "title": "Not Found",
    "status": 404,
    "detail": "No such appointment.",
    "code": "not_found",
    "request_id": "r1",
}


@pytest.fixture(scope="module")
def contract() -> ErrorContract:
    return ErrorContract(openapi_document())


def answer(method: str, path: str, status: int, body: Any, media: str = "application/problem+json") -> httpx.Response:
    request = httpx.Request(method, f"http://testserver{path}")
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, headers={"content-type": media}, content=content, request=request)


def test_a_documented_problem_passes(contract: ErrorContract) -> None:
    response = answer("GET", "/api/v1/appointments/a1", 404, PROBLEM)
    assert contract.problems_of(response, response.content) == []
    head = answer("HEAD", "/api/v1/appointments/a1", 404, b"")
    assert contract.problems_of(head, b"") == []


@pytest.mark.parametrize(
    ("what", "response"),
    [
        ("an undocumented status", answer("GET", "/api/v1/appointments", 404, PROBLEM)),
        ("Litestar's error body", answer("GET", "/api/v1/appointments/a1", 404, {"status_code": 404, "detail": "x"})),
        ("plain JSON", answer("GET", "/api/v1/appointments/a1", 404, PROBLEM, media="application/json")),
        ("a problem of another status", answer("GET", "/api/v1/appointments/a1", 404, {**PROBLEM, "status": 400})),
        ("a problem without request_id", answer("POST", "/api/v1/auth/login", 401, {**PROBLEM, "request_id": None})),
        ("a bad problem off the document", answer("GET", "/api/v1/nowhere", 404, {"code": "not_found"})),
    ],
)
def test_a_broken_error_is_refused(contract: ErrorContract, what: str, response: httpx.Response) -> None:
    assert contract.problems_of(response, response.content), f"{what} passed"


def test_success_and_documented_other_media_pass(contract: ErrorContract) -> None:
    ready = answer("GET", "/readyz", 503, {"status": "down"}, media="application/json")
    assert contract.problems_of(ready, ready.content) == []
    ok = answer("GET", "/api/v1/appointments", 200, {"items": []}, media="application/json")
    assert contract.problems_of(ok, ok.content) == []
