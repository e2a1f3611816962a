"""The application factory: ``create_app(settings)`` wires controllers, plugins and services.

What an app builds once and shares (the database engine, Redis, the throttles, the hub and its
events) is made by ``build_backends`` and reaches handlers and services as app-level
dependencies; nothing is kept in ``app.state`` or in module globals, so every app a test builds
has its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.plugins.problem_details import ProblemDetailsPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ControllerRouterHandler, Middleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from careconnect.bad_input import CareConnectRequest, RefuseNulPath
from careconnect.controllers.admin import AdminController
from careconnect.controllers.appointments import AppointmentsController
from careconnect.controllers.attachments import AttachmentsController
from careconnect.controllers.auth import AuthController
from careconnect.controllers.consultations import ConsultationController
from careconnect.controllers.doctors import DoctorsController
from careconnect.controllers.integrations import IntegrationsController
from careconnect.controllers.mfa import MfaController
from careconnect.controllers.notifications import NotificationsController
from careconnect.controllers.operations import OperationsController, TestOnlyController
from careconnect.controllers.patients import PatientsController
from careconnect.controllers.rooms import RoomsController
from careconnect.controllers.users import UsersController
from careconnect.controllers.video import VideoController
from careconnect.controllers.webhooks import WebhooksController
from careconnect.db import bind_tables, close_engine, engine_from_url, open_engine, split_pool
from careconnect.domain.accounts.sessions import SessionCheck
from careconnect.domain.accounts.throttle import Throttles, default_policies, throttle_storage
from careconnect.domain.appointments.backfill import BACKFILL, VisitJobsBackfill, queue_backfill
from careconnect.domain.appointments.closing import CLOSE, VisitCloser
from careconnect.domain.attachments.images import Decoders
from careconnect.domain.attachments.sweep import SWEEP, AttachmentSweeper
from careconnect.domain.notifications.deps import Notifications, provide_mailer, provide_outbox
from careconnect.domain.notifications.soon import SOON, SoonNotifier
from careconnect.domain.operations.readiness import Migrations
from careconnect.domain.webhooks.deps import Webhooks
from careconnect.errors import EXCEPTION_HANDLERS, problem_details_config
from careconnect.guards import BearerAuthMiddleware
from careconnect.hub import Hub, HubPlugin
from careconnect.metrics import DatabaseMetrics, HubMetrics, OutboxMetrics
from careconnect.openapi import ApiDocs, openapi_config
from careconnect.paths import MIGRATIONS_DIR
from careconnect.realtime import HubEvents, build_hub
from careconnect.request_context import (
    AccessLogMiddleware,
    ClientContextMiddleware,
    TrustedProxies,
    response_headers_hook,
)
from careconnect.settings import REPO_ROOT, Settings, load_settings
from careconnect.storage import BlobStore, StorageConfig, blob_store_for
from careconnect.tracing import Tracing, setup_tracing
from careconnect.webapp import WebAppController, WebPages
from careconnect.worker_metrics import WorkerSnapshots, scrape_registry, shared_folder

if TYPE_CHECKING:
    from piccolo.engine.base import Engine
    from redis.asyncio import Redis

PUBLIC_PATHS = ["/healthz", "/readyz", "/metrics", "/schema", "/ws"]


class CareConnectPrometheusController(PrometheusController):
    """``/metrics``: this worker's registry, or, with several workers, all of theirs merged
    (``careconnect.worker_metrics``)."""

    path = "/metrics"
    include_in_schema = False

    @get()
    async def get(self, metrics_snapshots: WorkerSnapshots | None) -> Response[bytes]:
        if metrics_snapshots is None:
            return await super().get.fn(self)  # type: ignore[no-any-return]
        metrics_snapshots.write()  # this worker's own families, fresh
        registry = scrape_registry(metrics_snapshots.folder)
        return Response(generate_latest(registry), status_code=200, headers={"Content-Type": CONTENT_TYPE_LATEST})


@dataclass(frozen=True)
class Backends:
    """What one app builds once and shares: its clients and stores, and the hub."""

    engine: Engine[Any]
    redis: Redis | None
    throttles: Throttles
    close_throttles: Callable[[], Awaitable[None]]
    session_check: SessionCheck
    hub: Hub
    events: HubEvents
    notifications: Notifications
    metrics_snapshots: WorkerSnapshots | None  # with several workers: this one's share of /metrics
    blobs: BlobStore
    webhooks: Webhooks  # issue 21: the events side and the delivery worker
    tracing: Tracing | None = None


def create_app(settings: Settings | None = None) -> Litestar:
    """The application; without ``settings``, read from the environment, so Litestar's CLI can
    build it: ``litestar --app careconnect.app:create_app routes`` (or ``schema openapi``)."""
    if settings is None:
        settings = load_settings()
    backends = build_backends(settings)
    app = Litestar(
        route_handlers=_controllers(settings),
        dependencies=_dependencies(settings, backends),
        plugins=[
            ProblemDetailsPlugin(problem_details_config()),
            HubPlugin(backends.hub),
            ApiDocs(),
            *([backends.tracing.plugin()] if backends.tracing else []),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=_middleware(settings, backends),
        before_send=[
            response_headers_hook(_security_headers(settings)),
            *([backends.tracing.name_by_route] if backends.tracing else []),
        ],
        cors_config=_cors_config(settings),
        openapi_config=openapi_config(),  # careconnect.openapi: the document and the /schema pages
        lifespan=[_lifespan(settings, backends)],
        request_max_body_size=settings.max_body_bytes,
        request_class=CareConnectRequest,
        logging_config=None,
        debug=False,
    )
    return app


def hub_of(app: Litestar) -> Hub:
    """The hub an app built (``HubFastPath`` and tests need it beside the app)."""
    return app.plugins.get(HubPlugin).hub


def build_backends(settings: Settings) -> Backends:
    """The database engine, the Redis client (with ``REDIS_URL``), the throttles and the hub."""
    engine = engine_from_url(
        settings.database_url, pool_mode=settings.database_pool_mode, replica_url=settings.database_replica_url
    )
    redis_client: Redis | None = None
    if settings.redis_url:
        from careconnect.hub.brokers.redis import redis_client as make_redis

        redis_client = make_redis(settings.redis_url, settings.redis_cluster)
    throttle_store, close_throttle_store = throttle_storage(settings.redis_url, cluster=settings.redis_cluster)
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
    session_check = SessionCheck(ttl=settings.session_check_seconds)
    tracing = setup_tracing(settings)  # None unless TRACING is set (issue 21)
    hub = build_hub(settings, session_check, tracing)
    events = HubEvents(hub)
    notifications = Notifications(settings, engine)  # the outbox, its worker, the mailer (issue 17)
    webhooks = Webhooks(settings, engine, notifications)
    notifications.kinds.register(
        CLOSE,
        VisitCloser(
            events,
            notifications.outbox,
            no_show_after=dt.timedelta(minutes=settings.no_show_after_minutes),
            complete_after=dt.timedelta(hours=settings.auto_complete_after_hours),
            webhooks=webhooks.events,
        ),
    )
    notifications.kinds.register(SOON, SoonNotifier(events))
    notifications.kinds.register(BACKFILL, VisitJobsBackfill(notifications.mailer))
    blobs = blob_store_for(_storage_config(settings), REPO_ROOT)  # issue 20: attachments
    notifications.kinds.register(SWEEP, AttachmentSweeper(blobs))
    return Backends(
        engine=engine,
        redis=redis_client,
        throttles=throttles,
        close_throttles=close_throttle_store,
        session_check=session_check,
        hub=hub,
        events=events,
        notifications=notifications,
        metrics_snapshots=WorkerSnapshots(folder, []) if (folder := shared_folder()) is not None else None,
        blobs=blobs,
        webhooks=webhooks,
        tracing=tracing,
    )


def _storage_config(settings: Settings) -> StorageConfig:
    return StorageConfig(
        url=settings.storage_url,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
        s3_access_key_id=settings.s3_access_key_id,
        s3_secret_access_key=settings.s3_secret_access_key,
    )


def _shared(value: object) -> Provide:
    """An app-level dependency: the one instance this app built."""
    return Provide(lambda: value, use_cache=True, sync_to_thread=False)


def _dependencies(settings: Settings, backends: Backends) -> dict[str, Provide]:
    return {
        "settings": _shared(settings),
        "throttles": _shared(backends.throttles),
        "session_check": _shared(backends.session_check),
        "message_store": _shared(backends.hub.store),
        "events": _shared(backends.events),
        "redis": _shared(backends.redis),
        "web_pages": _shared(WebPages(Path(settings.web_dir))),
        "migrations": _shared(Migrations.shipped_in(MIGRATIONS_DIR)),
        "metrics_snapshots": _shared(backends.metrics_snapshots),
        "notifications": _shared(backends.notifications),
        "outbox": Provide(provide_outbox, use_cache=True, sync_to_thread=False),
        "mailer": Provide(provide_mailer, use_cache=True, sync_to_thread=False),
        "blobs": _shared(backends.blobs),
        "webhook_events": _shared(backends.webhooks.events),
        "image_decoders": _shared(Decoders()),
    }


def _lifespan(settings: Settings, backends: Backends) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Binds the tables and opens the database when the app starts; closes every client when it stops."""
    hub_metrics = HubMetrics(backends.hub)
    outbox_metrics = OutboxMetrics(backends.notifications.stats)
    database_metrics = DatabaseMetrics(backends.engine)
    snapshots = backends.metrics_snapshots

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        bind_tables(backends.engine)
        await open_engine(backends.engine, pool_max=split_pool(settings.database_pool_size)[0])
        hub_metrics.register()
        outbox_metrics.register()
        database_metrics.register()
        if snapshots is not None:
            snapshots.collectors = [hub_metrics, outbox_metrics, database_metrics]
            snapshots.start()
        await queue_backfill(backends.notifications.outbox)  # once per database (its dedupe key)
        await backends.notifications.start()
        await backends.webhooks.start()
        try:
            yield
        finally:
            await backends.webhooks.stop()
            await backends.notifications.stop()
            if snapshots is not None:
                await snapshots.stop()
            database_metrics.unregister()
            outbox_metrics.unregister()
            hub_metrics.unregister()
            await close_engine(backends.engine)
            if backends.redis is not None:
                await backends.redis.aclose()
            await backends.close_throttles()
            if backends.tracing is not None:
                backends.tracing.shutdown()

    return lifespan


def _controllers(settings: Settings) -> list[ControllerRouterHandler]:
    controllers: list[ControllerRouterHandler] = [
        AuthController,
        UsersController,
        MfaController,
        NotificationsController,
        AdminController,
        DoctorsController,
        AppointmentsController,
        ConsultationController,
        IntegrationsController,
        VideoController,
        AttachmentsController,
        PatientsController,
        RoomsController,
        WebhooksController,
        OperationsController,
        CareConnectPrometheusController,
    ]
    if settings.enable_test_routes:
        controllers.append(TestOnlyController)
    controllers.append(WebAppController)  # last: its catch-all path serves the web client
    return controllers


def _middleware(settings: Settings, backends: Backends) -> list[Middleware]:
    """Outermost first: the client's address and request id, the access log, then the checks."""
    return [
        DefineMiddleware(ClientContextMiddleware, trusted=TrustedProxies(settings.trusted_proxies)),
        DefineMiddleware(AccessLogMiddleware),
        DefineMiddleware(RefuseNulPath),
        PrometheusConfig(
            app_name="careconnect", prefix="careconnect", group_path=True, exclude=["/metrics"]
        ).middleware,
        DefineMiddleware(
            BearerAuthMiddleware, exclude=PUBLIC_PATHS, settings=settings, session_check=backends.session_check
        ),
    ]


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


def _cors_config(settings: Settings) -> CORSConfig | None:
    """Only for the origins in ``CORS_ORIGINS``; none at all when it is empty."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_credentials=True,
        allow_headers=["Authorization", "Content-Type", "X-CSRF", "Idempotency-Key", "If-Match", "X-Request-ID"],
    )
