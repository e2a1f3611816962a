"""The application factory: ``create_app(settings)`` wires controllers, plugins and services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore

from careconnect import __version__
from careconnect.bad_input import CareConnectRequest, RefuseNulPath
from careconnect.controllers.admin import AdminController
from careconnect.controllers.appointments import AppointmentsController
from careconnect.controllers.auth import AuthController
from careconnect.controllers.consultations import ConsultationController
from careconnect.controllers.doctors import DoctorsController
from careconnect.controllers.operations import OperationsController, TestOnlyController
from careconnect.controllers.patients import PatientsController
from careconnect.controllers.users import UsersController
from careconnect.db import bind_tables, engine_from_url, is_postgres
from careconnect.errors import EXCEPTION_HANDLERS, problem_details_config
from careconnect.guards import BearerAuthMiddleware
from careconnect.hub import HubPlugin
from careconnect.realtime import HubEvents, build_hub
from careconnect.request_context import AccessLogMiddleware, response_headers_hook
from careconnect.services.sessions import SESSION_CHECK
from careconnect.services.throttle import LoginThrottle
from careconnect.settings import Settings
from careconnect.webapp import WebAppController

PUBLIC_PATHS = ["/healthz", "/readyz", "/metrics", "/schema", "/ws"]


class CareConnectPrometheusController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def _security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    }
    if settings.cookie_secure:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return headers


def create_app(settings: Settings) -> Litestar:
    engine = engine_from_url(settings.database_url)
    redis_client: Any = None
    if settings.redis_url:
        from redis.asyncio import Redis

        redis_client = Redis.from_url(settings.redis_url)
    store: Store
    if redis_client is not None:
        from litestar.stores.redis import RedisStore

        store = RedisStore(redis_client, namespace="careconnect", handle_client_shutdown=False)
    else:
        store = MemoryStore()
    throttle = LoginThrottle(
        store,
        per_account=settings.login_max_failures_account,
        per_ip=settings.login_max_failures_ip,
        window_s=settings.login_failure_window_s,
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        bind_tables(engine)
        SESSION_CHECK.ttl = settings.session_check_seconds
        SESSION_CHECK.clear()
        if is_postgres(engine):
            await engine.start_connection_pool(min_size=2, max_size=20)  # type: ignore[attr-defined]
        else:
            await engine.run_ddl("PRAGMA journal_mode=WAL")
        try:
            yield
        finally:
            if is_postgres(engine):
                await engine.close_connection_pool()  # type: ignore[attr-defined]
            if redis_client is not None:
                await redis_client.aclose()

    controllers: list[Any] = [
        AuthController,
        UsersController,
        AdminController,
        DoctorsController,
        AppointmentsController,
        ConsultationController,
        PatientsController,
        OperationsController,
        CareConnectPrometheusController,
    ]
    if settings.enable_test_routes:
        controllers.append(TestOnlyController)
    controllers.append(WebAppController)

    hub = build_hub(settings)
    app = Litestar(
        route_handlers=controllers,
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "login_throttle": Provide(lambda: throttle, use_cache=True, sync_to_thread=False),
            "web_dir": Provide(lambda: Path(settings.web_dir), use_cache=True, sync_to_thread=False),
        },
        plugins=[ProblemDetailsPlugin(problem_details_config()), HubPlugin(hub)],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            DefineMiddleware(AccessLogMiddleware),
            DefineMiddleware(RefuseNulPath),
            PrometheusConfig(
                app_name="careconnect", prefix="careconnect", group_path=True, exclude=["/metrics"]
            ).middleware,
            DefineMiddleware(BearerAuthMiddleware, exclude=PUBLIC_PATHS),
        ],
        before_send=[response_headers_hook(_security_headers(settings))],
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_credentials=True,
            allow_headers=["Authorization", "Content-Type", "X-CSRF", "Idempotency-Key", "If-Match", "X-Request-ID"],
        )
        if settings.cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="CareConnect Live API",
            version=__version__,
            path="/schema",
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"BearerToken": []}],
        ),
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        request_class=CareConnectRequest,
        logging_config=None,
        debug=False,
    )
    app.state.settings = settings
    app.state.redis = redis_client
    app.state.engine = engine
    app.state.hub = hub
    app.state.events = HubEvents(hub)
    app.state.disconnect_user = hub.disconnect_user
    app.state.evict_from_room = hub.evict
    return app
