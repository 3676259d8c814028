"""X-Forwarded-For is believed only from the proxies an administrator trusts (issue 13)."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from bounceback.accounts.models import FailedLogin
from bounceback.audit.services import client_ip
from bounceback.testing.factories import PASSWORD, UserFactory
from bounceback.web.proxies import TrustedProxyMiddleware, forwarded_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _behind_proxy(settings) -> None:  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_TRUST_X_FORWARDED_FOR = True
    settings.BOUNCEBACK_TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128", "10.0.0.0/8"]


def _seen(remote: str, forwarded: str = "", proto: str = "") -> HttpRequest:
    """The request as every view sees it, after the middleware."""
    headers = {}
    if forwarded:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    if proto:
        headers["HTTP_X_FORWARDED_PROTO"] = proto
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)
    seen: list[HttpRequest] = []

    def view(r: HttpRequest) -> HttpResponse:
        seen.append(r)
        return HttpResponse()

    TrustedProxyMiddleware(view)(request)
    return seen[0]


def test_given_a_client_talking_to_us_directly_then_its_forwarded_headers_are_ignored(
    settings,
) -> None:  # type: ignore[no-untyped-def]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    request = _seen("198.51.100.5", forwarded="1.2.3.4", proto="https")

    assert client_ip(request) == "198.51.100.5"
    assert not request.is_secure()


def test_given_our_proxy_then_the_client_is_the_right_most_untrusted_hop() -> None:
    request = _seen("127.0.0.1", forwarded="6.6.6.6, 203.0.113.7")

    assert client_ip(request) == "203.0.113.7"


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("10.0.0.3", "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("127.0.0.1", "10.0.0.9, 10.0.0.2", "10.0.0.9"),
        ("127.0.0.1", "not-an-address, 203.0.113.7", "203.0.113.7"),
        ("127.0.0.1", "203.0.113.7, <script>", "127.0.0.1"),
        ("198.51.100.5", "203.0.113.7", "198.51.100.5"),
    ],
)
def test_forwarded_client(remote: str, forwarded: str, client: str) -> None:
    assert forwarded_client(remote, forwarded) == client


def test_given_no_proxy_configured_then_forwarded_for_is_ignored_even_from_loopback(
    settings,
) -> None:  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_TRUST_X_FORWARDED_FOR = False

    request = _seen("127.0.0.1", forwarded="203.0.113.7")

    assert client_ip(request) == "127.0.0.1"


def test_given_an_attacker_inventing_addresses_then_sign_in_limits_still_count_them(
    client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.LOGIN_FAILURE_LIMIT = 2
    owner = UserFactory()
    for n in range(4):
        client.post(
            reverse("login"),
            {"username": owner.username, "password": "wrong"},
            REMOTE_ADDR="198.51.100.5",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    assert set(FailedLogin.objects.values_list("ip_address", flat=True)) == {"198.51.100.5"}
    request = RequestFactory().post("/login/", REMOTE_ADDR="198.51.100.5")
    assert authenticate(request, username=owner.username, password=PASSWORD) is None
