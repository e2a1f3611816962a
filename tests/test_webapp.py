"""The web client's pages: which file a path serves, and each HTML page's own script hashes in its CSP."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from careconnect.webapp import WEB_CSP, WebPages
from tests.conftest import app_client, make_settings


def _hash(script: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"


def test_a_pages_policy_names_its_inline_scripts_and_follows_a_new_version_of_the_file(tmp_path: Path):
    page = tmp_path / "index.html"
    page.write_bytes(b"<html><script>boot(1)</script><script src='/a.js'></script></html>")
    pages = WebPages(tmp_path)
    assert pages.resolve("/") == page.resolve()
    first = pages.csp_for(page)
    assert _hash(b"boot(1)") in first and "script-src 'self' 'sha256-" in first
    assert pages.csp_for(page) == first
    page.write_bytes(b"<html><script>boot(22)</script></html>")  # a new build: size and mtime change
    os.utime(page, ns=(page.stat().st_atime_ns, page.stat().st_mtime_ns + 1_000_000))
    second = pages.csp_for(page)
    assert _hash(b"boot(22)") in second and _hash(b"boot(1)") not in second


def test_other_files_get_the_plain_policy_and_dynamic_pages_their_placeholder(tmp_path: Path):
    (tmp_path / "consultation").mkdir()
    placeholder = tmp_path / "consultation" / "_.html"
    placeholder.write_bytes(b"<html></html>")
    script = tmp_path / "app.js"
    script.write_bytes(b"boot()")
    pages = WebPages(tmp_path)
    assert pages.csp_for(script) == WEB_CSP
    assert pages.resolve("/consultation/0191e2c4-0000-7000-8000-000000000000") == placeholder.resolve()
    assert pages.resolve("/../etc/passwd") is None
    # The router's prefetch of a link to a consultation gets the placeholder's segment payloads.
    (tmp_path / "consultation" / "_").mkdir()
    tree = tmp_path / "consultation" / "_" / "__next._tree.txt"
    tree.write_bytes(b"tree")
    assert pages.resolve("/consultation/0191e2c4-0000-7000-8000-000000000000/__next._tree.txt") == tree.resolve()
    assert pages.resolve("/consultation/x/other.txt") is None
    assert pages.resolve("/consultation/x/__next.../../../etc/passwd") is None


def test_each_app_keeps_its_own_policies(tmp_path: Path):
    """Two apps (two web folders) never answer with each other's cached policy."""
    for name, script in (("a", b"one()"), ("b", b"two()")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_bytes(b"<script>" + script + b"</script>")
    a, b = WebPages(tmp_path / "a"), WebPages(tmp_path / "b")
    assert _hash(b"one()") in a.csp_for(tmp_path / "a" / "index.html")
    assert _hash(b"two()") in b.csp_for(tmp_path / "b" / "index.html")


# ----- served by the app: precompressed copies, HEAD, the favicon -------------------------------


def _export(tmp_path: Path) -> Path:
    """A small export: a page, a script with .br and .gz copies, and a 404 page."""
    import gzip

    (tmp_path / "_next" / "static").mkdir(parents=True)
    (tmp_path / "index.html").write_bytes(b"<html><script>boot()</script>home</html>")
    (tmp_path / "404.html").write_bytes(b"<html>missing</html>")
    script = tmp_path / "_next" / "static" / "app.js"
    script.write_bytes(b"console.log('x');" * 200)
    (tmp_path / "_next" / "static" / "app.js.gz").write_bytes(gzip.compress(script.read_bytes()))
    (tmp_path / "_next" / "static" / "app.js.br").write_bytes(b"BROTLI-BYTES")  # only its choice is tested
    return tmp_path


@pytest.fixture
async def web_client(tmp_path: Path, sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(make_settings(sqlite_url, web_dir=str(_export(tmp_path)))) as http:
        yield http


async def _raw_get(http: httpx.AsyncClient, path: str, accept_encoding: str | None) -> httpx.Response:
    headers = {} if accept_encoding is None else {"Accept-Encoding": accept_encoding}
    request = http.build_request("GET", path, headers=headers)
    if accept_encoding is None:
        del request.headers["Accept-Encoding"]
    response = await http.send(request, stream=True)
    await response.aread()  # read without decoding: raw bytes are in response.stream's chunks
    return response


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("br, gzip", "br"),
        ("gzip, deflate, br;q=0", "gzip"),
        ("gzip;q=0.5", "gzip"),
        ("*", "br"),
        ("*, br;q=0", "gzip"),
        ("identity", None),
        ("br;q=0, gzip;q=0", None),
        ("gzip;q=nonsense, ;;, ,", None),
        (None, None),
    ],
)
async def test_scripts_go_out_precompressed_as_the_client_accepts(
    web_client: httpx.AsyncClient, accept: str | None, coding: str | None
):
    response = await _raw_get(web_client, "/_next/static/app.js", accept)
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == coding
    assert "Accept-Encoding" in response.headers["vary"]
    assert response.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "immutable" in response.headers["cache-control"]
    if coding == "gzip":
        import gzip

        raw = b"".join([c async for c in _raw_chunks(web_client, "/_next/static/app.js", accept)])
        assert gzip.decompress(raw) == b"console.log('x');" * 200
    elif coding == "br":
        raw = b"".join([c async for c in _raw_chunks(web_client, "/_next/static/app.js", accept)])
        assert raw == b"BROTLI-BYTES"
    elif coding is None:
        assert response.content == b"console.log('x');" * 200


async def _raw_chunks(http: httpx.AsyncClient, path: str, accept: str | None) -> AsyncIterator[bytes]:
    request = http.build_request("GET", path, headers={"Accept-Encoding": accept or ""})
    response = await http.send(request, stream=True)
    async for chunk in response.aiter_raw():
        yield chunk
    await response.aclose()


async def test_a_stale_copy_is_never_served(web_client: httpx.AsyncClient, tmp_path: Path):
    script = tmp_path / "_next" / "static" / "app.js"
    script.write_bytes(b"newer();" * 100)
    later = script.stat().st_mtime_ns + 5_000_000_000
    os.utime(script, ns=(later, later))
    response = await _raw_get(web_client, "/_next/static/app.js", "br, gzip")
    assert "content-encoding" not in response.headers
    assert response.content == b"newer();" * 100


async def test_head_answers_pages_and_missing_pages_without_a_body(web_client: httpx.AsyncClient):
    page = await web_client.head("/")
    assert page.status_code == 200 and page.content == b""
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self' 'sha256-" in page.headers["content-security-policy"]
    missing = await web_client.head("/no/such/page")
    assert missing.status_code == 404 and missing.content == b""
    get_missing = await web_client.get("/no/such/page")
    assert get_missing.status_code == 404 and b"missing" in get_missing.content
    api = await web_client.head("/api/v1/no-such-endpoint")
    assert api.status_code in (404, 405)
    hostile = await web_client.get("/..%2f..%2fetc/passwd")
    assert hostile.status_code == 404


def test_the_build_writes_compressed_copies_and_a_favicon():
    """The real export (npm run build): every script has current .br and .gz copies; icons exist."""
    out = Path(__file__).resolve().parents[1] / "web" / "out"
    scripts = list((out / "_next" / "static").rglob("*.js"))
    assert scripts
    for script in scripts:
        if script.stat().st_size >= 512:
            assert (script.parent / (script.name + ".br")).stat().st_size < script.stat().st_size
            assert (script.parent / (script.name + ".gz")).stat().st_size < script.stat().st_size
    assert (out / "favicon.ico").is_file()
    assert b'rel="icon"' in (out / "login.html").read_bytes()
    # The production build carries no test hook (the browser tests use set_offline instead).
    assert not [s.name for s in scripts if b"__careconnectHub" in s.read_bytes()]


async def test_the_real_export_serves_the_favicon_and_compressed_pages(sqlite_url: str):
    async with app_client(make_settings(sqlite_url)) as http:
        icon = await http.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
        login = await _raw_get(http, "/login", "gzip")
        assert login.headers["content-encoding"] == "gzip"
        head = await http.head("/login", headers={"Accept-Encoding": "br"})
        assert head.status_code == 200 and head.headers["content-encoding"] == "br" and head.content == b""
