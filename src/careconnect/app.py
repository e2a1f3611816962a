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

from careconnect import __version__
from careconnect.bad_input import CareConnectRequest, RefuseNulPath
from careconnect.controllers.admin import AdminController
from careconnect.controllers.appointments import AppointmentsController
from careconnect.controllers.auth import AuthController
from careconnect.controllers.consultations import ConsultationController
from careconnect.controllers.doctors import DoctorsController
from careconnect.controllers.mfa import MfaController
from careconnect.controllers.operations import OperationsController, TestOnlyController
from careconnect.controllers.patients import PatientsController
from careconnect.controllers.users import UsersController
from careconnect.db import bind_tables, engine_from_url, is_postgres
from careconnect.domain.accounts.sessions import SESSION_CHECK
from careconnect.domain.accounts.throttle import Throttles, default_policies, throttle_storage
from careconnect.domain.notifications.deps import Notifications, provide_mailer, provide_outbox
from careconnect.errors import EXCEPTION_HANDLERS, problem_details_config
from careconnect.guards import BearerAuthMiddleware
from careconnect.hub import HubPlugin
from careconnect.metrics import track_outbox
from careconnect.realtime import HubEvents, build_hub
from careconnect.request_context import (
    AccessLogMiddleware,
    ClientContextMiddleware,
    TrustedProxies,
    response_headers_hook,
)
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
    throttle_store, close_throttle_store = throttle_storage(settings.redis_url)
    throttles = Throttles(
        throttle_store,
        default_policies(
            window_s=settings.throttle_window_s,
            per_pair=settings.throttle_per_pair,
            per_pair_under_attack=settings.throttle_per_pair_under_attack,
            per_account=settings.throttle_per_account,
            per_address=settings.throttle_per_address,
        ),
    )

    notifications = Notifications(settings, engine)  # the outbox, its worker, the mailer (issue 17)
    track_outbox(notifications.stats)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        bind_tables(engine)
        SESSION_CHECK.ttl = settings.session_check_seconds
        SESSION_CHECK.clear()
        if is_postgres(engine):
            await engine.start_connection_pool(min_size=2, max_size=20)  # type: ignore[attr-defined]
        else:
            await engine.run_ddl("PRAGMA journal_mode=WAL")
        await notifications.start()
        try:
            yield
        finally:
            await notifications.stop()
            if is_postgres(engine):
                await engine.close_connection_pool()  # type: ignore[attr-defined]
            if redis_client is not None:
                await redis_client.aclose()
            await close_throttle_store()

    controllers: list[Any] = [
        AuthController,
        UsersController,
        MfaController,
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
    events = HubEvents(hub)
    app = Litestar(
        route_handlers=controllers,
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "throttles": Provide(lambda: throttles, use_cache=True, sync_to_thread=False),
            "events": Provide(lambda: events, use_cache=True, sync_to_thread=False),
            "web_dir": Provide(lambda: Path(settings.web_dir), use_cache=True, sync_to_thread=False),
            "notifications": Provide(lambda: notifications, use_cache=True, sync_to_thread=False),
            "outbox": Provide(provide_outbox, use_cache=True, sync_to_thread=False),
            "mailer": Provide(provide_mailer, use_cache=True, sync_to_thread=False),
        },
        plugins=[ProblemDetailsPlugin(problem_details_config()), HubPlugin(hub)],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            DefineMiddleware(ClientContextMiddleware, trusted=TrustedProxies(settings.trusted_proxies)),
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
    app.state.events = events
    app.state.disconnect_user = hub.disconnect_user
    app.state.evict_from_room = hub.evict
    return app
