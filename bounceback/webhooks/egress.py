"""Where the server's own HTTP requests may go: never back inside (server-side request forgery).

Staff type the URLs Bounceback POSTs to (webhook subscriptions, channels'
outbound URLs). Without a check, a URL such as http://127.0.0.1:6379/ or
http://169.254.169.254/latest/meta-data/ would make this server reach services
only it can reach. So an address is refused when it is loopback, link-local,
private, unique-local, multicast, unspecified, a cloud metadata address or
otherwise not globally routable, unless an administrator allows its network in
BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS.

The check runs three times: when the URL is saved (a 4xx naming the field),
and at connect time on the very address the socket connects to (so a name
that resolved to a public address at save time and to 127.0.0.1 later, DNS
rebinding, is still refused). Redirects are never followed (signing.py), and
proxies from the environment are ignored, since a proxy would make the
connect-time check look at the proxy instead of the receiver.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Metadata services of the big clouds. Most are link-local already; these
# are not: Alibaba's 100.100.100.200 (shared address space), Azure's wire
# server 168.63.129.16 (a public address) and AWS's IPv6 fd00:ec2::254.
METADATA = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.169.254/32", "100.100.100.200/32", "168.63.129.16/32", "fd00:ec2::254/128")
)


class EgressRefused(OSError):
    """The address is one this server must not send to. An OSError, so every
    caller that handles a refused connection handles this too."""


@lru_cache(maxsize=8)
def _networks(raw: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in raw)


def allowed_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS", ())))


def address_refusal(address: str | Address) -> str | None:
    """Why this server must not connect to `address` ("a loopback address"), or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(ip in network for network in allowed_networks()):
        return None
    if any(ip in network for network in METADATA):
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"):
        return "a unique-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a reserved address"
    return None


def _resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def host_refusal(host: str, port: int) -> str | None:
    """Why `host` must not be sent to, after resolving it; None when every address is fine.

    A name that does not resolve (yet) is not refused here: the connection
    will fail, and is checked again when it is made.
    """
    try:
        infos = _resolve(host, port)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        address = info[4][0]
        reason = address_refusal(address)
        if reason:
            shown = host if host == address else f"{host} resolves to {address}, which"
            return f"{shown} is {reason}"
    return None


def url_refusal(url: str) -> str | None:
    """Why this http(s) URL's host must not be sent to, or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host_refusal(host, port)


def guarded_create_connection(
    address: tuple[str, int],
    timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    source_address: tuple[str, int] | None = None,
    *args: Any,
    **kwargs: Any,
) -> socket.socket:
    """socket.create_connection that resolves once, refuses any forbidden address,
    and connects to exactly the addresses it checked (no second lookup to rebind)."""
    host, port = address
    infos = _resolve(host, port)
    for info in infos:
        reason = address_refusal(info[4][0])
        if reason:
            raise EgressRefused(
                f"refused to connect to {host} ({info[4][0]}): it is {reason}; "
                "an administrator can allow its network in BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS"
            )
    last: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            last = exc
            sock.close()
    raise last or OSError(f"{host} did not resolve to any address")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = guarded_create_connection


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    # connect() wraps the guarded socket in TLS for the original host name.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = guarded_create_connection


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


def build_opener(*handlers: Any) -> urllib.request.OpenerDirector:
    """An opener whose every connection is guarded, with no proxies from the environment."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _HTTPHandler, _HTTPSHandler, *handlers
    )
