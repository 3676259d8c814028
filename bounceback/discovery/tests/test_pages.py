"""The discovery page, the rule editor with its preview, and declaring from a suspicion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from bounceback.discovery.models import Rule, SuspectedBreakdown
from bounceback.testing.factories import UserFactory
from bounceback.testing.playbooks_factories import make_playbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client() -> Client:
    client = Client()
    client.force_login(UserFactory(role="manager"))
    return client


def _suspect() -> SuspectedBreakdown:
    at = datetime(2026, 2, 3, 9, tzinfo=UTC)
    return SuspectedBreakdown.objects.create(
        reference="SB-00001",
        dimension="product",
        value="Season pass",
        bucket="hour",
        first_bucket_at=at,
        last_bucket_at=at + timedelta(hours=2),
        peak_count=14,
        baseline=0.5,
        p_value=1e-12,
        evidence={
            "points": [
                [(at + timedelta(hours=k)).isoformat(), 14 if k >= 0 else 0, 0.5]
                for k in range(-4, 3)
            ]
        },
    )


def test_the_overview_shows_each_section(manager_client) -> None:
    _suspect()

    page = manager_client.get("/discovery/")

    text = page.content.decode()
    assert page.status_code == 200
    for heading in ("Suspected breakdowns", "What is rising", "What came in", "Rules and what"):
        assert heading in text
    assert "SB-00001" in text


def test_agents_do_not_see_the_page() -> None:
    client = Client()
    client.force_login(UserFactory(role="agent"))

    assert client.get("/discovery/").status_code == 403


def test_a_rule_is_previewed_then_saved(manager_client) -> None:
    form = {
        "name": "Detractors",
        "action": "open_case",
        "severity": "normal",
        "window_hours": "72",
        "looks_at": ["on_signals"],
        "conditions": '{"all": [{"field": "nps", "op": "<=", "value": 6}]}',
    }

    preview = manager_client.post("/discovery/rules/new/", {**form, "do": "preview"})
    saved = manager_client.post("/discovery/rules/new/", {**form, "do": "save"})

    assert "Over the last 30 days" in preview.content.decode()
    assert Rule.objects.filter(name="Detractors").count() == 1
    assert saved.status_code == 302


def test_bad_conditions_are_shown_on_the_form(manager_client) -> None:
    page = manager_client.post(
        "/discovery/rules/new/",
        {
            "name": "x",
            "action": "open_case",
            "severity": "normal",
            "window_hours": "72",
            "looks_at": ["on_signals"],
            "conditions": '{"all": [{"field": "mood", "op": "=", "value": 1}]}',
            "do": "save",
        },
    )

    assert "not a field a rule can test" in page.content.decode()
    assert not Rule.objects.exists()


def test_a_suspicion_is_declared_from_its_page(manager_client) -> None:
    suspect = _suspect()
    playbook = make_playbook()

    page = manager_client.get(f"/discovery/suspected/{suspect.pk}/")
    manager_client.post(f"/discovery/suspected/{suspect.pk}/declare/", {"playbook_id": playbook.pk})

    assert "<svg" in page.content.decode()
    suspect.refresh_from_db()
    assert suspect.status == "declared"
    assert suspect.breakdown.product == "Season pass"


def test_a_rule_is_edited_to_look_at_messages_and_shows_its_versions(manager_client) -> None:
    from bounceback.discovery.rules import rule_create

    rule = rule_create(
        name="Angry",
        conditions={"all": [{"field": "negativity", "op": ">=", "value": 0.8}]},
        action="alert_role",
        action_params={"role": "manager"},
        actor=None,
    )
    form = {
        "name": "Angry messages",
        "action": "alert_role",
        "role": "lead",
        "severity": "normal",
        "window_hours": "24",
        "position": "5",
        "looks_at": ["on_messages", "on_cases"],
        "conditions": '{"all": [{"field": "negativity", "op": ">=", "value": 0.8}]}',
    }

    preview = manager_client.post(f"/discovery/rules/{rule.pk}/", {**form, "do": "preview"})
    saved = manager_client.post(f"/discovery/rules/{rule.pk}/", {**form, "do": "save"})
    page = manager_client.get(f"/discovery/rules/{rule.pk}/").content.decode()

    assert "Of 0 new cases and 0 messages" in preview.content.decode()
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert (rule.version, rule.on_signals, rule.on_cases, rule.on_messages) == (
        2,
        False,
        True,
        True,
    )
    assert rule.action_params["role"] == "lead" and rule.position == 5
    assert "v2" in page and "v1" in page
