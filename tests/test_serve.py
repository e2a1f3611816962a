"""`careconnect serve` really serves: health, OpenAPI and the web client from one process."""

from __future__ import annotations

import gc

import httpx

from tests.live import TEST_SECRET, LiveServer


def test_serve_answers_health_schema_and_web(sqlite_url, tmp_path):
    web = tmp_path / "web"
    (web / "consultation").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>home</title>")
    (web / "login.html").write_text("<!doctype html><title>login</title>")
    (web / "consultation" / "_.html").write_text("<!doctype html><title>consultation</title>")
    server = LiveServer(sqlite_url, log_path=tmp_path / "server.log", WEB_DIR=str(web)).start()
    try:
        assert httpx.get(f"{server.url}/healthz", timeout=5).json()["status"] == "ok"
        schema = httpx.get(f"{server.url}/schema/openapi.json", timeout=5)
        assert schema.status_code == 200 and "/api/v1/auth/login" in schema.json()["paths"]
        page = httpx.get(f"{server.url}/", timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert "login" in httpx.get(f"{server.url}/login", timeout=5).text
        deep = httpx.get(f"{server.url}/consultation/3f0c8a9e-1111-2222-3333-444455556666", timeout=5)
        assert deep.status_code == 200 and "consultation" in deep.text
        assert httpx.get(f"{server.url}/../etc/passwd", timeout=5).status_code == 404
        missing = httpx.get(f"{server.url}/api/v1/nope", timeout=5)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log


def test_each_worker_freezes_its_startup_heap_after_the_hub_starts(sqlite_url, monkeypatch):
    """A full collection walked the whole startup heap (~40 ms, a stall for every socket); frozen, it does not."""
    from careconnect.asgi import build_app, freeze_startup_objects

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("CARECONNECT_ENV", "test")
    served = build_app()
    hooks = served.app.on_startup
    assert hooks[-1] is freeze_startup_objects
    assert hooks.index(served.hub.start) < len(hooks) - 1
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
