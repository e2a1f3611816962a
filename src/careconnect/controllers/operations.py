"""Operations endpoints outside /api/v1: liveness, readiness and (test-only) a failing route."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import Provide
from litestar.openapi import ResponseSpec

from careconnect.domain.operations.deps import provide_readiness
from careconnect.domain.operations.readiness import Readiness
from careconnect.domain.operations.schemas import Health


class OperationsController(Controller):
    tags = ["operations"]
    dependencies = {"readiness": Provide(provide_readiness, sync_to_thread=False)}

    @get("/healthz", summary="The process is alive")
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get(
        "/readyz",
        summary="The database and Redis (when configured) are reachable",
        responses={503: ResponseSpec(Health, description="Not ready: the checks say which part is down.")},
    )
    async def readyz(self, readiness: Readiness) -> Response[Health]:
        health = await readiness.check()
        return Response(health, status_code=200 if health.ready else 503)


class TestOnlyController(Controller):
    """Mounted only when ``enable_test_routes`` is set: proves errors leak nothing."""

    path = "/api/v1/_test"
    include_in_schema = False

    @get("/boom")
    async def boom(self) -> None:
        raise RuntimeError("SELECT password_hash FROM cc_user -- internal detail that must not leak")
