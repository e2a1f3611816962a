"""Operations endpoints outside /api/v1: liveness, readiness and (test-only) a failing route."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get

from careconnect.tables import User


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str] = {}


class OperationsController(Controller):
    tags = ["operations"]

    @get("/healthz", summary="The process is alive")
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get("/readyz", summary="The database and Redis (when configured) are reachable")
    async def readyz(self, request: Request[Any, Any, Any]) -> Response[Health]:
        checks: dict[str, str] = {}
        try:
            await User.raw("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = f"unavailable: {type(exc).__name__}"
        redis = getattr(request.app.state, "redis", None)
        if redis is not None:
            try:
                await redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:  # noqa: BLE001
                checks["redis"] = f"unavailable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return Response(
            Health(status="ok" if ready else "unavailable", checks=checks), status_code=200 if ready else 503
        )


class TestOnlyController(Controller):
    """Mounted only when ``enable_test_routes`` is set: proves errors leak nothing."""

    path = "/api/v1/_test"
    include_in_schema = False

    @get("/boom")
    async def boom(self) -> None:
        raise RuntimeError("SELECT password_hash FROM cc_user -- internal detail that must not leak")
