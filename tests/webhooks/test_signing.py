"""The signature a receiver checks (docs/integrations.md): HMAC-SHA256 over "<t>.<body>"."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from careconnect.domain.webhooks.signing import signature_header, verify

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"appointment.booked","created_at":"2026-12-01T10:00:00.000Z","data":{}}'


def test_the_header_is_t_and_v1_over_the_timestamp_and_the_exact_body() -> None:
    now = int(time.time())
    header = signature_header(SECRET, now, BODY)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    expected = hmac.new(SECRET.encode(), f"{now}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={now},v1={expected}"
    assert verify(SECRET, header, BODY)


def test_anything_altered_does_not_verify() -> None:
    now = int(time.time())
    header = signature_header(SECRET, now, BODY)
    assert not verify("whsec_other", header, BODY)
    assert not verify(SECRET, header, BODY.replace(b"booked", b"cancelled"))
    assert not verify(SECRET, header.replace(f"t={now}", f"t={now + 1}"), BODY)
    assert not verify(SECRET, signature_header(SECRET, now - 3600, BODY), BODY)  # a replay an hour later
    for broken in ("", "t=,v1=", "v1=abc", f"t={now}", "t=abc,v1=00", f"t={now},v1={'0' * 64}"):
        assert not verify(SECRET, broken, BODY)
