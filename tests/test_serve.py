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
    from careconnect.asgi import build_app, settle_collector

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("CARECONNECT_ENV", "test")
    served = build_app()
    hooks = served.app.on_startup
    assert hooks[-1].func is settle_collector and hooks[-1].args == (50_000,)
    assert hooks.index(served.hub.start) < len(hooks) - 1
    thresholds = gc.get_threshold()
    try:
        settle_collector(50_000)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _full_collections_under_churn() -> int:
    """Full collections while work flows through: 300,000 short-lived objects, 2,000 in flight at
    any time, each left as a reference cycle (as frames, futures and tasks often are), so only the
    collector frees them and the young generation keeps filling."""
    full = 0

    def count(phase: str, info: dict) -> None:
        nonlocal full
        if phase == "stop" and info["generation"] == 2:
            full += 1

    gc.collect()  # the old generation is what came after the freeze
    gc.callbacks.append(count)
    try:
        in_flight: list[list[int]] = [[] for _ in range(2_000)]
        for i in range(300_000):
            work = [i]
            work.append(work)
            in_flight[i % 2_000] = work
    finally:
        gc.callbacks.remove(count)
    return full


def test_a_settled_worker_does_not_promote_in_flight_work_into_full_collections():
    """Each young collection promotes what is in flight; often enough, that sets off full
    collections (97-227 ms each under the clinic benchmark). A settled worker's rarer young
    collections do not, where CPython's defaults do (the control)."""
    from careconnect.asgi import settle_collector

    thresholds = gc.get_threshold()
    try:
        gc.freeze()  # what a worker did before it tuned the thresholds: the control
        gc.set_threshold(700, 10, 10)
        assert _full_collections_under_churn() > 0
        settle_collector(50_000)
        assert gc.get_threshold() == (50_000, 10, 10)
        assert _full_collections_under_churn() == 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
