from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from bounceback.audit.models import AuditEvent
from bounceback.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _request(ip: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    return RequestFactory().post("/login/", REMOTE_ADDR=ip)


def test_after_too_many_failures_even_the_right_password_is_refused(settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory()

    for _ in range(3):
        assert authenticate(_request(), username=user.username, password="wrong") is None
    locked = authenticate(_request(), username=user.username, password=PASSWORD)

    assert locked is None
    assert AuditEvent.objects.filter(action="login_failed").count() == 4


def test_a_successful_sign_in_clears_earlier_failures(settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory()
    from django.test import Client

    client = Client(REMOTE_ADDR="198.51.100.1")
    for _ in range(2):
        client.login(username=user.username, password="wrong")
    assert client.login(username=user.username, password=PASSWORD)
    client.logout()

    for _ in range(2):
        client.login(username=user.username, password="wrong")

    assert client.login(username=user.username, password=PASSWORD)


def test_one_address_spraying_many_accounts_is_throttled(settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    victim = UserFactory()

    for i in range(8):
        authenticate(_request("192.0.2.50"), username=f"guess{i}", password="x")

    assert authenticate(_request("192.0.2.50"), username=victim.username, password=PASSWORD) is None
    assert authenticate(_request("192.0.2.51"), username=victim.username, password=PASSWORD)
