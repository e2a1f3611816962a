"""Where a webhook may point (docs/security.md "Webhooks and SSRF").

A URL is ``http`` or ``https`` with a host, no user name or password, no fragment. Unless
``WEBHOOK_ALLOW_PRIVATE`` (the default outside production) the host must resolve only to public
addresses: loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast
and reserved ranges are refused, when the webhook is made and again at every delivery. A
delivery connects to the address that was checked (``Target``), so a name that resolves to a
public address for the check and to a private one a moment later (DNS rebinding) reaches
nothing it should not; redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit, urlunsplit

import msgspec

from careconnect.domain.errors import invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """The URL's host is (or now resolves to) an address webhooks may not reach."""


class Target(msgspec.Struct, frozen=True):
    """Where one delivery connects: ``url`` names the checked address; ``host`` goes in the
    ``Host`` header and, for https, as the TLS server name (the certificate is checked for it)."""

    url: str
    host: str
    sni_hostname: str | None


def _parts(url: str) -> SplitResult:
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise invalid("url", "no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise invalid("url", "not a URL") from None
    if parts.scheme not in ("http", "https"):
        raise invalid("url", "must start with https:// (or http://)")
    if not parts.hostname:
        raise invalid("url", "must name a host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise invalid("url", "must not carry a user name or password; the signature authenticates the sender")
    if parts.fragment or url.endswith("#"):
        raise invalid("url", "must not have a #fragment")
    if port == 0:
        raise invalid("url", "port 0 is not a port")
    return parts


def is_public(address: IPAddress) -> bool:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if mapped is not None:
        address = mapped
    return address.is_global and not address.is_multicast


def literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL as given, or ``Invalid`` (422) naming the rule it breaks; a literal private
    address is refused here, a name is checked by ``resolve`` (at creation and each delivery)."""
    parts = _parts(url)
    address = literal(parts.hostname or "")
    if address is not None and not allow_private and not is_public(address):
        raise invalid("url", "a private, loopback or link-local address is not allowed (WEBHOOK_ALLOW_PRIVATE)")
    return url


async def resolve(url: str, *, allow_private: bool) -> Target:
    """The address a delivery to ``url`` connects to, checked; ``RefusedAddress`` otherwise."""
    parts = _parts(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = literal(host)
    if address is None:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise RefusedAddress(f"{host} does not resolve: {exc}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise RefusedAddress(f"{host} does not resolve")
        refused = [a for a in addresses if not is_public(a)]
        if refused and not allow_private:
            raise RefusedAddress(f"{host} resolves to {refused[0]}, which webhooks may not reach")
        address = addresses[0]
    elif not allow_private and not is_public(address):
        raise RefusedAddress(f"{address} is not a public address")
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port is not None:
        netloc += f":{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return Target(url=pinned, host=host_header, sni_hostname=host if parts.scheme == "https" else None)
