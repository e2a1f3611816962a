"""OpenTelemetry tracing (issue 21), off by default: with ``TRACING=otlp`` a real server sends
its spans over OTLP/HTTP to a collector, here a receiver on loopback that decodes the protobuf
export requests. Requests, hub frames and store commits each have spans, and no span carries a
message body or a password."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from careconnect.settings import SettingsError, load_settings
from tests.consult_helpers import open_visit
from tests.e2e.test_hub_edge import hub_socket
from tests.helpers import PASSWORD
from tests.infra import migrate
from tests.live import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SECRET_BODY = "my rash is on my left elbow"


class Collector:
    """An OTLP/HTTP trace receiver: keeps every span it is sent as (name, attributes)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, dict[str, Any]]] = []
        self.raw: list[bytes] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.take(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()
                self.wfile.write(b"")

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, path: str, body: bytes) -> None:
        assert path == "/v1/traces", path
        self.raw.append(body)
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    attributes = {a.key: json.loads(_value(a.value)) for a in span.attributes}
                    self.spans.append((span.name, attributes))

    def names(self) -> set[str]:
        return {name for name, _ in self.spans}


def _value(value: Any) -> str:
    kind = value.WhichOneof("value")
    return json.dumps(getattr(value, kind) if kind else None)


@pytest.fixture
def collector() -> Iterator[Collector]:
    receiver = Collector()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


async def test_requests_frames_and_commits_reach_the_collector(tmp_path: Path, collector: Collector) -> None:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    migrate(url)
    server = LiveServer(
        url,
        log_path=tmp_path / "server.log",
        TRACING="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_SERVICE_NAME="careconnect-test",
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            _, patient, aid = await open_visit(http)
            room = f"consultation:{aid}"
            ws = await hub_socket(server.ws_url, patient["token"], room)
            try:
                await ws.send(json.dumps({"type": "send", "room": room, "id": "traced-1", "body": SECRET_BODY}))
                async with asyncio.timeout(5):
                    while json.loads(await ws.recv())["type"] != "ack":
                        pass
            finally:
                await ws.close()
        deadline = time.monotonic() + 20
        while not {"hub.join", "hub.send", "store.commit"} <= collector.names():
            assert time.monotonic() < deadline, sorted(collector.names())
            await asyncio.sleep(0.2)
    finally:
        server.stop()
    spans = collector.spans
    send = next(attrs for name, attrs in spans if name == "hub.send")
    assert send["hub.room"] == room and send["hub.role"] == "patient"
    commit = next(attrs for name, attrs in spans if name == "store.commit")
    assert commit["store.messages"] >= 1
    # Requests are named by their route template, never by a path with ids in it.
    names = collector.names()
    assert {"POST /api/v1/auth/login", "POST /api/v1/consultations/{consultation_id}/check-in"} <= names, sorted(names)
    assert not any(aid in name for name in names), sorted(names)
    assert not any(name.startswith(("GET /healthz", "GET /metrics")) or name.endswith("http send") for name in names)
    everything = b"".join(collector.raw)
    assert SECRET_BODY.encode() not in everything  # no message body in any span
    assert PASSWORD.encode() not in everything  # nor a password
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def test_tracing_is_off_by_default_and_a_bad_value_is_refused() -> None:
    assert load_settings({}).tracing == "off"
    assert load_settings({"TRACING": "console"}).tracing == "console"
    with pytest.raises(SettingsError, match="TRACING"):
        load_settings({"TRACING": "jaeger"})
