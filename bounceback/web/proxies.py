"""Who the client is when Bounceback runs behind a reverse proxy.

With BEHIND_TLS_PROXY, X-Forwarded-For and X-Forwarded-Proto are believed only
when the request comes from an address in BOUNCEBACK_TRUSTED_PROXIES; from
anyone else they are dropped, since a client could otherwise pick its own
address (and dodge every rate limit and lockout) or claim HTTPS. The client is
the right-most X-Forwarded-For entry that is not itself a trusted proxy: the
entries to its left are whatever the client sent.

The middleware rewrites REMOTE_ADDR to that address (keeping the proxy's in
BOUNCEBACK_PROXY_ADDR), so the audit log, sign-in throttling and the public
form's limits all count the same address. It must run first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
PROXY_ADDR = "BOUNCEBACK_PROXY_ADDR"


@lru_cache(maxsize=8)
def _networks(raw: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in raw)


def _address(text: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_trusted_proxy(address: Address | None) -> bool:
    if address is None:
        return False
    trusted = _networks(tuple(settings.BOUNCEBACK_TRUSTED_PROXIES))
    return any(address in network for network in trusted)


def forwarded_client(remote_addr: str, forwarded_for: str) -> str:
    """The client's address given the peer (`remote_addr`) and its X-Forwarded-For."""
    nearest = _address(remote_addr)
    if not is_trusted_proxy(nearest):
        return remote_addr
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            # Not an address: the client wrote it; the last proxy is all we know.
            break
        nearest = address
        if not is_trusted_proxy(address):
            break
    return str(nearest)


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        remote = meta.get("REMOTE_ADDR") or ""
        if settings.BOUNCEBACK_TRUST_X_FORWARDED_FOR and is_trusted_proxy(_address(remote)):
            forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                meta[PROXY_ADDR] = remote
                meta["REMOTE_ADDR"] = forwarded_client(remote, forwarded)
        else:
            meta.pop("HTTP_X_FORWARDED_FOR", None)
            meta.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.get_response(request)
