"""Every error response a test provokes, checked against the OpenAPI document the app serves.

``tests/conftest.py`` installs ``ErrorContract.check`` as a response hook on the HTTP clients it
makes (``app_client``) for the test folders listed in ``CHECKED``. An error answer of a
documented operation must have a status that operation documents (``default`` covers 5xx) and,
unless the operation documents another media type for it (``/readyz``'s 503 is its health
body), an ``application/problem+json`` body valid against the ``Problem`` schema. An answer of
a path the document does not have (the web pages, ``/ws``, an unknown ``/api`` path) is still
checked against ``Problem`` when it says it is problem+json.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema

PROBLEM = "application/problem+json"
# Test folders and files whose error responses are checked (relative to tests/).
CHECKED = (
    "controllers/",
    "domain/",
    "notifications/",
    "services/",
    "storage/",
    "test_openapi_",
    "test_request_context.py",
    "test_webapp.py",
)


@dataclass
class ErrorContract:
    document: dict[str, Any]
    _routes: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for template in self.document["paths"]:
            pattern = re.escape(template)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            self._routes.append((re.compile(f"^{pattern}/?$"), template))
        # Literal segments first (/doctors/specialties before /doctors/{doctor_id}).
        self._routes.sort(key=lambda route: route[1].count("{"))
        self._problem = jsonschema.Draft202012Validator(
            {"$ref": "#/components/schemas/Problem", "components": self.document["components"]}
        )

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for pattern, template in self._routes:
            if pattern.match(path):
                operation = self.document["paths"][template].get(method.lower())
                return (template, operation) if operation else None
        return None

    def problems_of(self, response: httpx.Response, body: bytes) -> list[str]:
        """What is wrong with one response (nothing for a success or a documented error)."""
        status = response.status_code
        if status < 400:
            return []
        request = response.request
        head = request.method == "HEAD"  # GET's status, and no body to check
        found = self.operation("GET" if head else request.method, request.url.path)
        media = response.headers.get("content-type", "").split(";")[0].strip()
        where = f"{request.method} {request.url.path} answered {status}"
        if found is None:
            return self._body_problems(where, body) if media == PROBLEM and not head else []
        template, operation = found
        responses = operation.get("responses", {})
        documented = responses.get(str(status)) or (responses.get("default") if status >= 500 else None)
        if documented is None:
            return [
                f"{where}, which {request.method} {template} does not document (it has {sorted(responses)}): "
                f"if the route can answer {status}, declare it with responses=problems({status}) "
                "(careconnect.openapi), else the route is wrong"
            ]
        content = documented.get("content", {})
        if PROBLEM not in content:
            return [] if media in content else [f"{where} as {media!r}; documented: {sorted(content)}"]
        if media != PROBLEM:
            return [f"{where} as {media!r}, not {PROBLEM}"]
        return [] if head else self._body_problems(where, body)

    def _body_problems(self, where: str, body: bytes) -> list[str]:
        try:
            value = json.loads(body)
        except ValueError:
            return [f"{where} with a body that is not JSON: {body[:200]!r}"]
        errors = [f"{where}: {error.json_path} {error.message}" for error in self._problem.iter_errors(value)]
        if isinstance(value, dict) and value.get("status") != int(where.rsplit(" ", 1)[1]):
            errors.append(f"{where} but its problem says status {value.get('status')!r}")
        return errors

    async def check(self, response: httpx.Response) -> None:
        """An httpx response hook: fails the request (and so the test) on a broken contract."""
        if response.status_code < 400:
            return
        body = await response.aread()
        problems = self.problems_of(response, body)
        if problems:
            raise AssertionError("an error response breaks the OpenAPI document:\n" + "\n".join(problems))
