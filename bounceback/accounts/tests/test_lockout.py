"""Nobody can keep someone else's account locked by failing its password (issue 13).

Failures lock one account only from the address they came from; from
everywhere else they only slow the account down, and its owner is told.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from bounceback.accounts.models import FailedLogin
from bounceback.accounts.selectors import login_account_delay, login_retry_after
from bounceback.notifications.models import Notification
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _request(ip: str):  # type: ignore[no-untyped-def]
    return RequestFactory().post("/login/", REMOTE_ADDR=ip)


def _fail(username: str, ip: str) -> None:
    assert authenticate(_request(ip), username=username, password="wrong") is None


def _later(seconds: int) -> None:
    """Move every recorded failure into the past (no sleeping)."""
    for row in FailedLogin.objects.all():
        FailedLogin.objects.filter(pk=row.pk).update(at=row.at - timedelta(seconds=seconds))


@pytest.fixture(autouse=True)
def _limits(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    settings.LOGIN_DELAY_MAX_SECONDS = 300


def test_given_failures_from_many_addresses_then_the_owner_is_slowed_not_locked() -> None:
    owner = UserFactory()
    for n in range(5):
        _fail(owner.username, f"203.0.113.{n + 1}")

    # Straight after the fifth failure the account waits a moment...
    early = authenticate(_request("198.51.100.9"), username=owner.username, password=PASSWORD)
    assert early is None
    _later(5)

    # ...and then lets its owner in from a new address, well inside the window.
    assert authenticate(_request("198.51.100.9"), username=owner.username, password=PASSWORD)


def test_given_failures_from_one_address_then_that_pair_alone_is_locked() -> None:
    owner = UserFactory()
    for _ in range(5):
        _fail(owner.username, "203.0.113.66")
    _later(60)

    from_attacker = authenticate(
        _request("203.0.113.66"), username=owner.username, password=PASSWORD
    )
    from_owner = authenticate(_request("198.51.100.9"), username=owner.username, password=PASSWORD)

    assert from_attacker is None
    assert from_owner == owner


def test_given_more_failures_then_the_account_delay_grows_to_its_maximum() -> None:
    owner = UserFactory()
    waits = []
    for n in range(5, 14):
        FailedLogin.objects.bulk_create(
            FailedLogin(username=owner.username, ip_address=f"203.0.113.{n}", at=timezone.now())
            for _ in range(n - FailedLogin.objects.count())
        )
        waits.append(login_retry_after(username=owner.username, request=_request("198.51.100.9")))

    seconds = [round(w.total_seconds()) for w in waits]
    assert seconds == sorted(seconds)
    assert seconds[0] <= 2 and seconds[-1] == 300
    assert login_account_delay(4) == timedelta(0)
    assert login_account_delay(100) == timedelta(seconds=300)


def test_given_attempts_refused_by_the_delay_then_they_do_not_count_as_failures() -> None:
    owner = UserFactory()
    for n in range(5):
        _fail(owner.username, f"203.0.113.{n + 1}")

    for n in range(20):
        _fail(owner.username, f"192.0.2.{n + 1}")

    assert FailedLogin.objects.count() == 5


def test_given_an_address_the_owner_signed_in_from_then_others_failures_do_not_slow_it(
    settings,
) -> None:  # type: ignore[no-untyped-def]
    owner = UserFactory()
    signed_in = Client(REMOTE_ADDR="198.51.100.77").post(
        reverse("login"), {"username": owner.username, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    for n in range(12):
        FailedLogin.objects.create(
            username=owner.username, ip_address=f"203.0.113.{n}", at=timezone.now()
        )

    assert authenticate(_request("198.51.100.77"), username=owner.username, password=PASSWORD)
    elsewhere = authenticate(_request("198.51.100.78"), username=owner.username, password=PASSWORD)
    assert elsewhere is None


def test_given_repeated_failures_then_the_owner_is_told_once_by_notification_and_email() -> None:
    owner = UserFactory(email="owner@example.com")
    for n in range(4):
        _fail(owner.username, f"203.0.113.{n + 1}")
    assert not Notification.objects.exists()

    _fail(owner.username, "203.0.113.5")
    _later(10)
    _fail(owner.username, "203.0.113.6")

    [notice] = Notification.objects.filter(recipient=owner, kind="login_failures")
    assert "5 sign-ins to your account" in notice.body
    assert "203.0.113.1" in notice.body
    [email] = OutboundMessage.objects.filter(to_address="owner@example.com")
    assert "failed" in email.body_text


def test_given_an_unknown_username_then_nobody_is_told() -> None:
    for n in range(6):
        _fail("nobody-here", f"203.0.113.{n + 1}")

    assert not Notification.objects.exists()
    assert not OutboundMessage.objects.exists()
