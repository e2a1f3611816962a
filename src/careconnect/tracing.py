"""OpenTelemetry tracing, off by default (``TRACING``): ``otlp`` exports spans over OTLP/HTTP to
the collector the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) names,
``console`` prints them. Needs the ``tracing`` extra (``pip install 'careconnect[tracing]'``).

Three kinds of span, none carrying a message body, a token or a form's content:
- every HTTP request (Litestar's OpenTelemetry plugin: method, route template, status);
- every inbound hub frame (``hub.send``, ``hub.join``, ...: room, role, socket id), through the
  hub's ``FrameTracer`` port;
- every store commit (``store.commit``: how many messages, how many rooms), around the group
  commit's ``append_batch``.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from careconnect.settings import SettingsError

if TYPE_CHECKING:
    from litestar.plugins import PluginProtocol
    from litestar.types import Message, Scope
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

    from careconnect.hub.store import Appended, NewMessage
    from careconnect.settings import Settings

log = logging.getLogger("careconnect.tracing")

# Requests not worth a span: scrapes, probes and the socket (its frames have their own).
NOT_TRACED = ["/metrics", "/healthz", "/readyz", "/ws"]


class HubFrameTracer:
    """The hub's ``FrameTracer`` over an OpenTelemetry tracer."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def frame(self, kind: str, room: str | None, role: str, connection: str) -> AbstractContextManager[object]:
        attributes: dict[str, str] = {"hub.frame": kind, "hub.role": role, "hub.connection": connection}
        if room is not None:
            attributes["hub.room"] = room[:200]
        return self.tracer.start_as_current_span(f"hub.{kind}", attributes=attributes)


class TracedStore:
    """A message store whose commits are spans; everything else goes to the store it wraps."""

    def __init__(self, inner: Any, tracer: Tracer) -> None:
        self._inner = inner
        self._tracer = tracer

    async def append_batch(self, batch: list[NewMessage]) -> list[Appended]:
        rooms = len({message.room for message in batch})
        with self._tracer.start_as_current_span(
            "store.commit", attributes={"store.messages": len(batch), "store.rooms": rooms}
        ):
            return await self._inner.append_batch(batch)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class Tracing:
    """The app's tracing: the provider, the request plugin, the hub's tracer, the store wrapper."""

    provider: TracerProvider
    tracer: Tracer

    def plugin(self) -> PluginProtocol:
        from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin  # noqa: PLC0415

        return OpenTelemetryPlugin(
            OpenTelemetryConfig(
                tracer_provider=self.provider,
                exclude=NOT_TRACED,
                exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
                scope_span_details_extractor=_unrouted_name,
            )
        )

    async def name_by_route(self, message: Message, scope: Scope) -> None:
        """A ``before_send`` hook: the request's span is named by its route template (``GET
        /api/v1/appointments/{appointment_id}``), never by a path holding ids."""
        if message["type"] != "http.response.start":
            return
        template = scope.get("path_template")
        if not template:
            return
        from opentelemetry import trace  # noqa: PLC0415

        span = trace.get_current_span()
        if span.is_recording():
            method = str(scope.get("method", ""))
            span.update_name(f"{method} {template}")
            span.set_attribute("http.route", str(template))

    def hub_tracer(self) -> HubFrameTracer:
        return HubFrameTracer(self.tracer)

    def store(self, inner: Any) -> Any:
        return TracedStore(inner, self.tracer)

    def shutdown(self) -> None:
        """Send what is buffered, then stop (the app's shutdown)."""
        self.provider.shutdown()


def _unrouted_name(scope: Scope) -> tuple[str, dict[str, str]]:
    """A request's span name before routing: its method alone (the route renames it)."""
    method = str(scope.get("method", "")).strip()
    return method or "WEBSOCKET", {}


def setup_tracing(settings: Settings) -> Tracing | None:
    """The app's tracing for ``settings.tracing``; None when it is off."""
    if settings.tracing == "off":
        return None
    try:
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - an optional extra
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SpanExporter,
        )
    except ImportError:
        raise SettingsError(
            f"TRACING={settings.tracing} needs the tracing extra: pip install 'careconnect[tracing]'"
        ) from None
    exporter: SpanExporter
    if settings.tracing == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        exporter = OTLPSpanExporter()  # the endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*
    else:
        exporter = ConsoleSpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.otel_service_name, "deployment.environment": settings.environment}
        )
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    log.info("tracing on: %s", settings.tracing)
    return Tracing(provider=provider, tracer=provider.get_tracer("careconnect"))
