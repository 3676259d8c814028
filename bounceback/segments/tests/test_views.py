"""Staff pages: list, members, editor with preview, recompute, the case-page panel."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.cases.models import Severity
from bounceback.cases.services import case_open
from bounceback.segments.models import Segment
from bounceback.segments.services import segment_memberships_recompute
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.segments_factories import SegmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client: Client) -> Client:
    client.force_login(UserFactory(role=Role.MANAGER))
    return client


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Big spenders",
        "slug": "",
        "priority": "20",
        "active": "on",
        "minimum_severity": "high",
        "timer_percent": "50",
        "senior_handling": "lead",
        "guidance": "Offer an immediate solution.",
        "compensation_tier": "300.00",
        "rule-0-field": "lifetime_value",
        "rule-0-op": ">=",
        "rule-0-value": "1000",
        "action": "save",
    }
    data.update(overrides)
    return data


def test_given_segments_when_listing_then_counts_show_in_constant_queries(
    agent_client: Client, django_assert_max_num_queries
) -> None:
    for index in range(5):
        SegmentFactory(name=f"Group {index}")
    CustomerFactory.create_batch(3, tags=["vip"])
    segment_memberships_recompute()

    with django_assert_max_num_queries(12):
        response = agent_client.get("/segments/")

    assert response.status_code == 200
    assert "Group 4" in response.text
    assert ">3</td>" in response.text.replace(" ", "")
    assert "New segment" not in response.text


def test_given_members_when_paging_then_queries_stay_constant(
    agent_client: Client, django_assert_max_num_queries
) -> None:
    segment = SegmentFactory()
    CustomerFactory.create_batch(60, tags=["vip"], email=False)
    segment_memberships_recompute()

    with django_assert_max_num_queries(12):
        response = agent_client.get(f"/segments/{segment.pk}/?page=2")

    assert response.status_code == 200
    assert "Showing 51\u201360 of 60" in response.text


def test_given_an_agent_when_opening_the_editor_then_it_is_forbidden(agent_client: Client) -> None:
    segment = SegmentFactory()
    assert agent_client.get("/segments/new/").status_code == 403
    assert agent_client.post(f"/segments/{segment.pk}/edit/", _form()).status_code == 403
    assert agent_client.post(f"/segments/{segment.pk}/recompute/").status_code == 403


def test_given_rules_when_previewing_then_the_count_shows_and_nothing_is_saved(
    manager_client: Client,
) -> None:
    CustomerFactory(lifetime_value=Decimal("5000"))
    CustomerFactory(lifetime_value=Decimal("10"))

    response = manager_client.post("/segments/new/", _form(action="preview"))

    assert response.status_code == 200
    assert "match <strong>1</strong> customer" in response.text
    assert not Segment.objects.exists()


def test_given_a_bad_rule_when_saving_then_the_rule_is_named(manager_client: Client) -> None:
    response = manager_client.post("/segments/new/", _form(**{"rule-0-value": "lots"}))

    assert response.status_code == 200
    assert "rules[0].value must be a number" in response.text
    assert not Segment.objects.exists()


def test_given_a_manager_when_creating_then_members_are_computed_and_it_is_audited(
    manager_client: Client,
) -> None:
    CustomerFactory(name="Rich Person", lifetime_value=Decimal("5000"))

    response = manager_client.post("/segments/new/", _form(), follow=True)

    segment = Segment.objects.get()
    assert segment.slug == "big-spenders"
    assert (segment.timer_percent, segment.senior_handling) == (50, "lead")
    assert "Rich Person" in response.text
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SEGMENT_CREATED).exists()


def test_given_json_rules_when_editing_then_they_replace_the_rows(manager_client: Client) -> None:
    segment = SegmentFactory()
    CustomerFactory(name="Chronic", tags=["chronic-complainer"])

    manager_client.post(
        f"/segments/{segment.pk}/edit/",
        _form(rules_json='[{"field": "tag", "op": "has", "value": "chronic-complainer"}]'),
    )

    segment.refresh_from_db()
    assert segment.rules == [{"field": "tag", "op": "has", "value": "chronic-complainer"}]
    assert list(segment.memberships.values_list("customer__name", flat=True)) == ["Chronic"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SEGMENT_CHANGED).exists()


def test_given_new_data_when_recomputing_now_then_members_update(manager_client: Client) -> None:
    segment = SegmentFactory()
    CustomerFactory(tags=["vip"])

    response = manager_client.post("/segments/recompute/", follow=True)

    assert "1 joined, 0 left" in response.text
    assert segment.memberships.count() == 1


def test_given_a_vip_case_when_viewing_it_then_the_panel_shows_the_approach(
    agent_client: Client, agent, django_assert_max_num_queries
) -> None:
    SegmentFactory(
        name="VIP",
        rules=[{"field": "tag", "op": "has", "value": "vip"}],
        minimum_severity=Severity.HIGH,
        timer_percent=50,
        senior_handling=Role.MANAGER,
        guidance="Call them back personally.",
        compensation_tier=Decimal("400.00"),
    )
    customer = CustomerFactory(tags=["vip"])
    segment_memberships_recompute()
    case = case_open(customer=customer, summary="Late", actor=agent)

    from bounceback.segments.templatetags.segments_ui import case_segments

    with django_assert_max_num_queries(1):
        case_segments({}, case)
    response = agent_client.get(f"/cases/{case.pk}/")

    assert response.status_code == 200
    panel = response.text.split('id="segments"', 1)[1]
    assert "VIP" in panel and "Call them back personally." in panel
    assert "50% of the policy" in panel and "High" in panel and "Manager" in panel
    assert "400.00 USD" in panel


def test_a_tampered_row_count_in_the_editor_is_not_an_error_page(manager_client) -> None:  # type: ignore[no-untyped-def]
    for rows in ("abc", "100000000"):
        response = manager_client.post("/segments/new/", _form(action="preview", rule_rows=rows))

        assert response.status_code == 200
