"""Where a delivery connects: the checked address itself (no second lookup), the URL's host
in ``Host`` and as the TLS server name; private addresses refused unless allowed."""

from __future__ import annotations

import pytest

from careconnect.domain.errors import Invalid
from careconnect.domain.webhooks.addresses import RefusedAddress, check_url, resolve


async def test_a_delivery_is_pinned_to_the_checked_address() -> None:
    http = await resolve("http://127.0.0.1:8080/in?x=1", allow_private=True)
    assert (http.url, http.host, http.sni_hostname) == ("http://127.0.0.1:8080/in?x=1", "127.0.0.1:8080", None)
    named = await resolve("https://localhost/hooks", allow_private=True)
    assert named.url in ("https://127.0.0.1/hooks", "https://[::1]/hooks")
    assert (named.host, named.sni_hostname) == ("localhost", "localhost")
    six = await resolve("http://[::1]:9/", allow_private=True)
    assert (six.url, six.host) == ("http://[::1]:9/", "[::1]:9")


@pytest.mark.parametrize("url", ["http://localhost/x", "http://127.0.0.2/x", "http://[fe80::1]/x", "http://10.0.0.1/"])
async def test_private_targets_are_refused_at_delivery(url: str) -> None:
    with pytest.raises(RefusedAddress):
        await resolve(url, allow_private=False)


def test_public_literals_pass_and_private_ones_do_not() -> None:
    assert check_url("https://93.184.215.14/hook", allow_private=False)
    with pytest.raises(Invalid):
        check_url("https://172.16.0.1/hook", allow_private=False)
    assert check_url("https://172.16.0.1/hook", allow_private=True)
