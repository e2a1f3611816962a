"""The web client's pages: which file a path serves, and each HTML page's own script hashes in its CSP."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from careconnect.webapp import WEB_CSP, WebPages


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


def test_each_app_keeps_its_own_policies(tmp_path: Path):
    """Two apps (two web folders) never answer with each other's cached policy."""
    for name, script in (("a", b"one()"), ("b", b"two()")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_bytes(b"<script>" + script + b"</script>")
    a, b = WebPages(tmp_path / "a"), WebPages(tmp_path / "b")
    assert _hash(b"one()") in a.csp_for(tmp_path / "a" / "index.html")
    assert _hash(b"two()") in b.csp_for(tmp_path / "b" / "index.html")
