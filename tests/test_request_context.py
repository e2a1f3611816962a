"""The trusted client ip and request id (TRUSTED_PROXIES), and log lines a client cannot forge."""

from __future__ import annotations

import logging

import msgspec
import pytest

from careconnect.logs import JsonFormatter, PlainFormatter, escape_controls, redact_query
from careconnect.request_context import TrustedProxies, client_ip, request_id_of, response_request_id, settle


def _scope(peer: str, *headers: tuple[bytes, bytes]) -> dict:
    return {"type": "http", "client": (peer, 5000), "headers": list(headers)}


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not a proxy: its header is the client's own words
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"),  # right-most untrusted hop
        ("10.0.0.2", "10.0.0.3", "10.0.0.2"),  # only proxies: the peer
        ("10.0.0.2", "not-an-ip, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1, junk", "10.0.0.2"),  # a malformed hop our proxy would not write
        ("::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_the_client_ip_believes_only_trusted_proxies(peer, forwarded, expected):
    trusted = TrustedProxies(["10.0.0.0/8", "::1"])
    scope = _scope(peer, (b"x-forwarded-for", forwarded.encode()))
    assert settle(scope, trusted)["client_ip"] == expected
    assert client_ip(scope) == expected


def test_the_request_id_is_the_clients_only_through_a_trusted_proxy():
    trusted = TrustedProxies(["10.0.0.2"])
    direct = _scope("203.0.113.5", (b"x-request-id", b"client-chosen"))
    settle(direct, trusted)
    assert request_id_of(direct) != "client-chosen" and response_request_id(direct) == "client-chosen"
    proxied = _scope("10.0.0.2", (b"x-request-id", b"edge-1"))
    settle(proxied, trusted)
    assert request_id_of(proxied) == "edge-1" == response_request_id(proxied)
    malformed = _scope("10.0.0.2", (b"x-request-id", b"bad id\n"))
    settle(malformed, trusted)
    assert response_request_id(malformed) == request_id_of(malformed) != "bad id\n"


def test_escaping_and_redaction():
    assert escape_controls("a\nb\r\x00\x1b[1m\x7f\x85\x9b\u2028z") == "a\\x0ab\\x0d\\x00\\x1b[1m\\x7f\\x85\\x9b\\u2028z"
    assert (
        redact_query("token=abc&x=1&ACCESS_TOKEN=d&refresh_token=e;code=f&client_secret=g&password=h&codes=k")
        == "token=[redacted]&x=1&ACCESS_TOKEN=[redacted]&refresh_token=[redacted];code=[redacted]"
        "&client_secret=[redacted]&password=[redacted]&codes=k"
    )
    assert redact_query('"WebSocket /ws?token=eyJhbGc.x.y" [accepted]') == '"WebSocket /ws?token=[redacted]" [accepted]'


def test_both_formatters_write_one_line_per_record():
    record = logging.LogRecord("careconnect.access", logging.INFO, "", 0, "GET %s", ("/a\nFAKE line?token=t",), None)
    record.path = "/a\nFAKE\x9b"
    plain = PlainFormatter().format(record)
    assert "\n" not in plain and plain.endswith("GET /a\\x0aFAKE line?token=[redacted]")
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = msgspec.json.decode(line)
    assert entry["message"] == "GET /a\\x0aFAKE line?token=[redacted]" and entry["path"] == "/a\\x0aFAKE\\x9b"


async def test_an_unmatched_path_still_echoes_the_clients_request_id(client):
    response = await client.get("/api/v1/no-such-route", headers={"X-Request-ID": "lost-1"})
    assert response.status_code == 404 and response.headers["x-request-id"] == "lost-1"
    assert response.json()["request_id"] == "lost-1" and response.headers["cache-control"] == "no-store"


def test_json_logs_leave_out_uvicorns_colour_copy_of_the_message():
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, "Started server process [%d]", (7,), None)
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    entry = msgspec.json.decode(JsonFormatter().format(record))
    assert entry["message"] == "Started server process [7]" and "color_message" not in entry
