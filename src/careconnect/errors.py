"""RFC 9457 problem details for every error, with a stable ``code`` and the ``request_id``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException
from litestar.response import Response
from litestar.types import ExceptionHandlersMap

from careconnect.domain import errors as domain
from careconnect.metrics import REFUSALS
from careconnect.request_context import client_request_id_of, request_id_of, response_request_id

if TYPE_CHECKING:
    from litestar import Request

log = logging.getLogger("careconnect.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldProblem(msgspec.Struct):
    """One field a request got wrong: ``{"field": "email", "message": "not an email address"}``."""

    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """The body of every error (RFC 9457 problem details), as ``_problem`` below writes it.

    The OpenAPI document names this schema for every 4xx and 5xx (``careconnect.openapi``);
    some problems carry more members (a 409 on notes has ``current_version``).
    """

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str  # stable and machine-readable: switch on this, not on ``detail``
    request_id: str  # as the response's X-Request-ID header
    errors: list[FieldProblem] | None = None  # 422: every field that broke a rule


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "bad_request",
    409: "conflict",
    413: "bad_request",
    415: "bad_request",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(ProblemDetailsException):
    """An error the client can act on: ``raise ApiError(409, "slot_taken", "That slot was just taken.")``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        fields: dict[str, Any] = {**(extra or {}), "code": code}
        if errors is not None:
            fields["errors"] = errors
        super().__init__(
            detail=detail,
            status_code=status,
            title=HTTPStatus(status).phrase,
            type_="about:blank",
            extra=fields,
            headers=headers,
        )
        self.code = code


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


def conflict(detail: str, code: str = "conflict") -> ApiError:
    return ApiError(409, code, detail)


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(
        422, "validation_error", "The request has invalid fields.", errors=[{"field": field, "message": message}]
    )


def _problem(request: Request[Any, Any, Any], status: int, code: str, detail: str, **extra: Any) -> Response[Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": response_request_id(request.scope),  # as the response's X-Request-ID
    }
    body.update(extra)
    REFUSALS.labels(status=str(status), code=code).inc()
    return Response(body, status_code=status, media_type="application/problem+json")


def _handle_problem(request: Request[Any, Any, Any], exc: ProblemDetailsException) -> Response[Any]:
    extra = dict(exc.extra) if isinstance(exc.extra, dict) else {}
    code = extra.pop("code", _CODES.get(exc.status_code, "bad_request"))
    response = _problem(request, exc.status_code, code, exc.detail, **extra)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _field_of(error: dict[str, Any]) -> str:
    key = error.get("key")
    if key:
        return str(key)
    message = str(error.get("message", ""))
    # msgspec says e.g. "Expected `str`, got `int` - at `$.email`"
    if "- at `$." in message:
        return message.rsplit("- at `$.", 1)[1].rstrip("`")
    return str(error.get("source") or "body")


# The one place a domain error becomes an HTTP status (most specific class first).
DOMAIN_STATUS: dict[type[domain.DomainError], int] = {
    domain.BadRequest: 400,
    domain.Unauthenticated: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.TooLarge: 413,
    domain.Invalid: 422,
    domain.RateLimited: 429,
    domain.Unavailable: 503,
}


def status_of(exc: domain.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def _handle_domain(request: Request[Any, Any, Any], exc: domain.DomainError) -> Response[Any]:
    extra = dict(exc.extra)
    if exc.errors is not None:
        extra["errors"] = exc.errors
    response = _problem(request, status_of(exc), exc.code, exc.detail, **extra)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                errors.append({"field": _field_of(item), "message": str(item.get("message", "invalid"))})
    if not errors:
        errors.append({"field": "body", "message": exc.detail or "invalid request"})
    return _problem(request, 422, "validation_error", "The request has invalid fields.", errors=errors)


def _body_fields_refused(exc: HTTPException) -> list[dict[str, str]] | None:
    """The body's fields, when Litestar calls a refused request body a server error: it does so
    for a body field named like a dependency (``{"events": "x"}`` beside the app's ``events``),
    taking the field for the injected value. Only errors located in the body (``data``) count."""
    import msgspec  # noqa: PLC0415 - only on this rare path

    cause = exc.__cause__
    if not isinstance(cause, msgspec.ValidationError):
        return None
    located = getattr(cause, "errors", None)
    if isinstance(located, list) and located:
        refused = []
        for item in located:
            loc = [str(part) for part in item.get("loc", [])] if isinstance(item, dict) else []
            if len(loc) < 2 or loc[0] != "data":
                return None
            refused.append({"field": ".".join(loc[1:]), "message": str(item.get("msg", "invalid")).split(" - ")[0]})
        return refused
    text = str(cause)
    if "- at `$.data." not in text:
        return None
    return [{"field": text.rsplit("- at `$.data.", 1)[1].rstrip("`"), "message": text.split(" - ")[0]}]


def _handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500 and (refused := _body_fields_refused(exc)) is not None:
        return _problem(request, 422, "validation_error", "The request has invalid fields.", errors=refused)
    if status >= 500:
        return _handle_internal(request, exc)
    if isinstance(exc, NotAuthorizedException):
        detail = "Sign in first: send a valid access token (Authorization: Bearer …)."
    elif isinstance(exc, PermissionDeniedException):
        detail = "Your role may not do this."
    elif isinstance(exc, NotFoundException):
        detail = "Nothing is here."
    else:
        detail = exc.detail or HTTPStatus(status).phrase
    response = _problem(request, status, _CODES.get(status, "bad_request"), detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _handle_internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    from careconnect.db_errors import is_unavailable

    if is_unavailable(exc):
        log.warning("service unavailable request_id=%s: %s", request_id_of(request.scope), type(exc).__name__)
        response = _problem(request, 503, "unavailable", "A backing service is unavailable; try again shortly.")
        response.headers["Retry-After"] = "5"
        return response
    log.error(
        "unhandled error request_id=%s client_request_id=%s %s %s",
        request_id_of(request.scope),
        client_request_id_of(request.scope),
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return _problem(request, 500, "internal", "Something went wrong on our side; the request id tells us which.")


def problem_details_config() -> ProblemDetailsConfig:
    return ProblemDetailsConfig(exception_handler=_handle_problem)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    domain.DomainError: _handle_domain,
    ValidationException: _handle_validation,
    HTTPException: _handle_http,
    Exception: _handle_internal,
}
