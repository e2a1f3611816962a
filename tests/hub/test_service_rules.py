"""The skip rule for missing services: skip with a reason locally, fail under CI=true."""

from __future__ import annotations

import socket

import pytest

from tests.hub import conftest


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_missing_service_skips_with_a_reason(monkeypatch):
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="Nothing is not reachable.*start it"):
        conftest.require_service("Nothing", "127.0.0.1", closed_port(), "start it")


def test_missing_service_fails_under_ci(monkeypatch):
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true requires every service"):
        conftest.require_service("Nothing", "127.0.0.1", closed_port(), "start it")
