"""Refused (429) requests leave nothing behind, and throttle rows do not pile up."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bounceback.portal.models import WebFormSubmission
from bounceback.portal.services import web_submissions_prune
from bounceback.testing.funds_factories import open_case
from bounceback.timers.clock import housekeeping

pytestmark = pytest.mark.django_db

SECRET_TEXT = "a great deal of attacker text " * 40


def _report(email: str) -> dict[str, str]:
    return {
        "name": "Mallory",
        "email": email,
        "phone": "",
        "what_happened": SECRET_TEXT,
        "happened_at": "",
        "where": "",
        "where_else": "",
        "wanted": "",
        "contact_by": "email",
        "website": "",
    }


def _everything_stored() -> str:
    return json.dumps(list(WebFormSubmission.objects.values()), default=str)


def test_given_the_form_limit_used_when_more_reports_come_then_none_of_them_is_stored(
    client: Client, settings
) -> None:
    settings.BOUNCEBACK_FORM_LIMIT_PER_IP = 1
    assert client.post("/report/", _report("first@example.com")).status_code == 302
    before = WebFormSubmission.objects.count()

    refused = [
        client.post("/report/", _report(f"flood{n}@example.com")).status_code for n in range(5)
    ]

    assert refused == [429] * 5
    assert WebFormSubmission.objects.count() == before
    assert "@example.com" in _everything_stored()
    assert "flood" not in _everything_stored()


def test_given_the_link_limit_used_when_more_links_are_asked_for_then_none_is_stored(
    client: Client, settings
) -> None:
    settings.BOUNCEBACK_FORM_LIMIT_PER_IP = 1
    client.post("/portal/login/", {"email": "first@example.com"})

    response = client.post("/portal/login/", {"email": "probe@example.com"})

    assert response.status_code == 429
    assert WebFormSubmission.objects.count() == 1
    assert "probe@example.com" not in _everything_stored()


def test_given_old_throttle_rows_when_housekeeping_runs_then_they_go_and_reports_stay() -> None:
    now = timezone.now()
    old = now - timedelta(days=2)
    report = WebFormSubmission.objects.create(
        kind="report", email="a@example.com", outcome="accepted", case=open_case(), created_at=old
    )
    for outcome, kind in [("accepted", "login"), ("honeypot", "report"), ("rate_limited", "login")]:
        WebFormSubmission.objects.create(kind=kind, outcome=outcome, created_at=old)
    recent = WebFormSubmission.objects.create(
        kind="login", email="b@example.com", outcome="accepted", created_at=now
    )

    housekeeping(now=now)

    assert set(WebFormSubmission.objects.values_list("pk", flat=True)) == {report.pk, recent.pk}
    assert web_submissions_prune(now=now) == 0
