"""What each route says about itself, turned into its OpenAPI operation (see the package doc)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from litestar.enums import MediaType
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
    Schema,
)

from careconnect.errors import PROBLEM_MEDIA_TYPE, Problem
from careconnect.openapi.examples import EXAMPLES

if TYPE_CHECKING:
    from litestar.handlers import HTTPRouteHandler
    from litestar.openapi.spec import SecurityRequirement
    from litestar.routes import HTTPRoute
    from litestar.types import Method

BEARER: SecurityRequirement = {"BearerToken": []}
REFRESH_CREDENTIAL: SecurityRequirement = {"RefreshCookie": []}
_DESCRIPTIONS = {
    400: "The request cannot be read: malformed or too deeply nested JSON, a NUL in the path (code bad_request).",
    401: "No valid access token, or the credentials were refused (code unauthorized).",
    403: "Your role may not do this, or your role must enrol a second factor first (mfa_enrollment_required).",
    404: "No such resource, or not yours: the two are never told apart (code not_found).",
    409: "The request clashes with the current state (slot_taken, invalid_state, conflict, ...).",
    412: "A precondition (If-Match) did not hold.",
    413: "The body is larger than the server accepts.",
    422: "Fields that break a rule, each named in errors[] (code validation_error).",
    429: "Too many attempts: wait Retry-After seconds (code rate_limited).",
    503: "A backing service is unavailable; try again after Retry-After seconds (code unavailable).",
}
_EXAMPLE_DETAILS = {
    400: "The body is nested too deeply.",
    401: "Sign in first: send a valid access token (Authorization: Bearer …).",
    403: "Your role may not do this.",
    404: "No such appointment.",
    409: "That slot was just taken.",
    413: "The body is larger than the server accepts.",
    422: "The request has invalid fields.",
    429: "Too many attempts; wait and try again.",
}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}
_CODES |= {412: "precondition_failed", 413: "too_large", 422: "validation_error", 429: "rate_limited"}
_CODES |= {503: "unavailable"}
# Signature names that are not client input (Litestar's reserved kwargs).
_RESERVED = {"request", "socket", "state", "scope", "headers", "cookies", "query", "body", "data", "self"}


def problems(*statuses: int | tuple[int, str]) -> dict[int, ResponseSpec]:
    """``responses=problems(409, (429, "Too many bookings"))``: problem+json answers of a route."""
    specs: dict[int, ResponseSpec] = {}
    for entry in statuses:
        status, description = entry if isinstance(entry, tuple) else (entry, _DESCRIPTIONS.get(entry, ""))
        specs[status] = _problem_spec(status, description)
    return specs


def _problem_spec(status: int, description: str) -> ResponseSpec:
    example = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": _EXAMPLE_DETAILS.get(status, HTTPStatus(status).description),
        "code": _CODES.get(status, "bad_request"),
        "request_id": "0d9f1c1e6c2b4f7a",
    }
    if status == 422:
        example["errors"] = [{"field": "email", "message": "not an email address"}]
    return ResponseSpec(
        data_container=Problem,
        description=description or HTTPStatus(status).description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
        examples=[Example(summary=HTTPStatus(status).phrase, value=example)],
    )


def operation_id(handler: HTTPRouteHandler, method: Method, path: list[Any]) -> str:
    """``<first tag>_<handler name>``, with the method first for a handler of several methods."""
    tags = handler.resolve_tags()
    prefix = tags[0] if tags else "api"
    name = handler.handler_name
    if len(handler.http_methods) > 1:
        name = f"{method.lower()}_{name}"
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{prefix}_{name}")


def _guarded(handler: HTTPRouteHandler) -> bool:
    """Behind a ``requires_*`` guard (careconnect.guards): only a signed-in caller gets through."""
    return any(
        getattr(guard, "__name__", "").startswith("requires_")
        for layer in handler.ownership_layers
        for guard in (layer.guards or [])
    )


def _declares_security(handler: HTTPRouteHandler) -> bool:
    return any(layer.security for layer in handler.ownership_layers)


def _inputs(handler: HTTPRouteHandler, route: HTTPRoute) -> tuple[bool, bool, bool]:
    """(has a body, has a path parameter, has any other parameter) of a handler."""
    parameters = handler.parsed_fn_signature.parameters
    dependencies = handler.resolve_dependencies()
    has_body = "data" in parameters or any("data" in d.parsed_fn_signature.parameters for d in dependencies.values())
    has_path = bool(route.path_parameters)
    path_names = set(route.path_parameters)  # keyed by name
    others = [n for n in parameters if n not in _RESERVED and n not in dependencies and n not in path_names]
    return has_body, has_path, bool(others)


def describe(handler: HTTPRouteHandler, route: HTTPRoute) -> None:
    """Security, problem responses and the operation class of one handler, from what it says."""
    authenticated = _guarded(handler)
    if authenticated and not _declares_security(handler):
        handler.security = [BEARER]
    elif _declares_security(handler):  # its own: required unless it lists {} (optional)
        declared = [r for layer in handler.ownership_layers for r in layer.security or []]
        authenticated = BEARER in declared and {} not in declared
    has_body, has_path, has_other = _inputs(handler, route)
    statuses: list[int] = []
    if has_body or has_path:
        statuses.append(400)
    if authenticated:
        statuses += [401, 403]
    if has_path:
        statuses.append(404)
    if has_body:
        statuses.append(413)
    if has_body or has_other:
        statuses.append(422)
    derived = problems(*statuses)
    handler.responses = {**derived, **(handler.responses or {})}
    if handler.operation_class is Operation:
        handler.operation_class = ProblemOperation


@dataclass
class ProblemOperation(Operation):
    """An operation whose errors are only problem+json, with ``default`` for 500 and 503."""

    def __post_init__(self) -> None:
        responses = self.responses or {}
        for status in [s for s, r in responses.items() if s.startswith(("4", "5")) and _is_litestar_default(r)]:
            del responses[status]
        problem = Reference(ref="#/components/schemas/Problem")
        responses.setdefault(
            "default",
            _response(
                "An unexpected error (500 internal) or a backing service down (503 unavailable, with Retry-After).",
                problem,
            ),
        )
        for status, response in responses.items():
            if status in ("429", "503") and not isinstance(response, Reference) and _is_problem(response):
                response.headers = {**(response.headers or {}), "Retry-After": _retry_after()}
        self.responses = responses
        body = self.request_body
        if body is not None and not isinstance(body, Reference):
            for media in body.content.values():
                example = _example_for(media.schema)
                if example is not None and not media.examples:
                    media.examples = {"example": Example(summary="A typical request", value=example)}


def _example_for(schema: Any) -> dict[str, Any] | None:
    """The example of a body's Struct, also when the body is optional (``oneOf`` it and null)."""
    candidates = [schema, *(getattr(schema, "one_of", None) or [])]
    for candidate in candidates:
        if isinstance(candidate, Reference):
            # the registry's long name here ("careconnect_domain_accounts_schemas_LoginIn")
            example = EXAMPLES.get(candidate.ref.rsplit("/", 1)[-1].rsplit("_", 1)[-1])
            if example is not None:
                return example
    return None


def _is_problem(response: OpenAPIResponse) -> bool:
    return PROBLEM_MEDIA_TYPE in (response.content or {})


def _is_litestar_default(response: Any) -> bool:
    """Litestar's error schema for a handler's ``raises``: ``{status_code, detail, extra}``."""
    if isinstance(response, Reference) or not response.content:
        return False
    if PROBLEM_MEDIA_TYPE in response.content:
        return False
    schema = response.content.get(MediaType.JSON) or response.content.get("application/json")
    schema = getattr(schema, "schema", None)
    properties = getattr(schema, "properties", None) or {}
    return {"status_code", "detail"} <= set(properties)


def _response(description: str, schema: Reference) -> OpenAPIResponse:
    return OpenAPIResponse(description=description, content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=schema)})


def _retry_after() -> OpenAPIHeader:
    return OpenAPIHeader(description="Seconds to wait before trying again.", schema=Schema(type="integer"))  # type: ignore[arg-type]
