"""Lighthouse (mobile) for the web client: ``make lighthouse`` (``python -m bench.lighthouse``).

Starts ``careconnect serve`` (one worker, a fresh SQLite file, the built web/out) on a free
port, makes a doctor and a patient with a visit checked in through the REST API, and runs
Lighthouse from npm (pinned in bench/lighthouse/package.json, installed there on first use)
against Debian's /usr/bin/chromium for /login, /register, the patient dashboard and the
consultation page, the last two signed in: bench/lighthouse/run.mjs sets a fresh sign-in's
cookies in the browser first (puppeteer-core, which Lighthouse brings), so the page restores its
session as after a reload, and a run that ends anywhere but the page asked for fails. The scores go to
docs/web.md between the LIGHTHOUSE markers, with the command and the date; the JSON reports to
bench/results/lighthouse-<timestamp>/. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "bench" / "lighthouse"
CHROMIUM = Path("/usr/bin/chromium")
DOC = REPO / "docs" / "web.md"
BEGIN, END = "<!-- LIGHTHOUSE:BEGIN -->", "<!-- LIGHTHOUSE:END -->"
PASSWORD = "correct horse battery staple"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lighthouse_bin() -> Path:
    binary = TOOL / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TOOL, check=True)
    return binary


class Server:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'lighthouse.db'}",
            "SECRET_KEY": "lighthouse-" + uuid.uuid4().hex * 2,
            "CARECONNECT_ENV": "test",
            "COOKIE_SECURE": "false",
        }
        self.env.pop("REDIS_URL", None)
        self.log = folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        python = sys.executable
        subprocess.run(
            [python, "-m", "careconnect", "migrate"], cwd=REPO, env=self.env, check=True, capture_output=True
        )
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [python, "-m", "careconnect", "serve", "--port", str(self.port), "--workers", "1"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not start; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else None


def person(http: httpx.Client, role: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"{role}-{uuid.uuid4().hex[:10]}@example.test",
        "password": PASSWORD,
        "full_name": name,
        "role": role,
        "timezone": "UTC",
    }
    if role == "doctor":
        body["doctor"] = {"specialty": "General practice", "bio": "Family doctor.", "languages": ["English"]}
    _ok(http.post("/api/v1/auth/register", json=body))
    return body


def sign_in(base: str, who: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """A fresh session: (access token, its cookies as the browser would hold them)."""
    with httpx.Client(base_url=base) as http:
        tokens = _ok(http.post("/api/v1/auth/login", json={"email": who["email"], "password": PASSWORD}))
        cookies = [{"name": c.name, "value": c.value or "", "path": c.path} for c in http.cookies.jar]
    return tokens["access_token"], cookies


def prepare(base: str) -> tuple[dict[str, Any], str]:
    """A doctor open all day, a patient with a visit checked in and one chat message."""
    with httpx.Client(base_url=base, timeout=15) as http:
        doctor = person(http, "doctor", "Dr Grace Hopper")
        patient = person(http, "patient", "Alan Turing")
    doctor_token, _ = sign_in(base, doctor)
    patient_token, _ = sign_in(base, patient)
    with httpx.Client(base_url=base, timeout=15) as http:
        auth_d = {"Authorization": f"Bearer {doctor_token}"}
        auth_p = {"Authorization": f"Bearer {patient_token}"}
        _ok(
            http.put(
                "/api/v1/doctors/me/availability",
                headers=auth_d,
                json={
                    "timezone": "UTC",
                    "slot_minutes": 10,
                    "min_notice_minutes": 0,
                    "horizon_days": 14,
                    "weekly": [{"weekday": d, "start": "00:00", "end": "23:50"} for d in range(7)],
                    "exceptions": [],
                },
            )
        )
        me = _ok(http.get("/api/v1/users/me", headers=auth_d))
        now = dt.datetime.now(dt.UTC)
        window = {"from": (now + dt.timedelta(minutes=1)).isoformat(), "to": (now + dt.timedelta(days=2)).isoformat()}
        slots = _ok(http.get(f"/api/v1/doctors/{me['id']}/slots", params=window, headers=auth_p))["slots"]
        visit = _ok(
            http.post(
                "/api/v1/appointments",
                headers={**auth_p, "Idempotency-Key": uuid.uuid4().hex},
                json={"doctor_id": me["id"], "starts_at": slots[0]["starts_at"], "reason": "A cough"},
            )
        )
        _ok(http.post(f"/api/v1/consultations/{visit['id']}/check-in", headers=auth_p))
    return patient, f"/consultation/{visit['id']}"


def run_lighthouse(url: str, out: Path, cookies: list[dict[str, str]] | None) -> dict[str, int]:
    """bench/lighthouse/run.mjs: Lighthouse's default (mobile) settings, the cookies set first."""
    command = ["node", str(TOOL / "run.mjs"), url, str(out), str(CHROMIUM)]
    if cookies:
        command.append(json.dumps(cookies))
    subprocess.run(command, check=True, cwd=TOOL, timeout=240)
    report = json.loads(out.read_text())
    if report.get("finalDisplayedUrl", url) != url:
        raise RuntimeError(f"{url} ended at {report.get('finalDisplayedUrl')}: not what was to be measured")
    return {name: round(100 * (report["categories"][name]["score"] or 0)) for name in CATEGORIES}


def write_doc(rows: list[tuple[str, dict[str, int]]], command: str, version: str) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        f"Measured {when} with `{command}` (Lighthouse {version}, mobile, Debian's Chromium, one",
        f"`careconnect serve` worker on loopback, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        "when it started; performance moves with whatever else the machine runs).",
        "",
        "| Page | Performance | Accessibility | Best practices | SEO |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for page, scores in rows:
        lines.append(
            f"| {page} | {scores['performance']} | {scores['accessibility']} | {scores['best-practices']} | {scores['seo']} |"
        )
    lines.append(END)
    block = "\n".join(lines)
    text = DOC.read_text() if DOC.exists() else ""
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)
    return block


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-doc", action="store_true", help="print the scores, leave docs/web.md alone")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    lighthouse_bin()
    version = json.loads((TOOL / "node_modules" / "lighthouse" / "package.json").read_text())["version"]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    results = REPO / "bench" / "results" / f"lighthouse-{stamp}"
    results.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="cc-lighthouse-"))
    rows: list[tuple[str, dict[str, int]]] = []
    try:
        with Server(folder) as server:
            patient, consultation = prepare(server.url)
            pages = [
                ("/login", "/login", False),
                ("/register", "/register", False),
                ("patient dashboard (signed in)", "/patient/dashboard", True),
                ("consultation, waiting room (signed in)", consultation, True),
            ]
            for label, path, signed_in in pages:
                cookies = sign_in(server.url, patient)[1] if signed_in else None
                name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
                scores = run_lighthouse(server.url + path, results / f"{name}.json", cookies)
                rows.append((label, scores))
                print(f"{label}: {scores}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    command = "make lighthouse"
    if args.no_doc:
        return 0
    print(write_doc(rows, command, version))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
