"""The catalog pages through the Django test client."""

from __future__ import annotations

import pytest
from django.test import Client

from bounceback.failuremodes.models import FailureMode, FailureModeVote, Touchpoint
from bounceback.testing.factories import SiteFactory
from bounceback.testing.failuremodes_factories import (
    FailureModeFactory,
    TouchpointFactory,
    cases_of,
)

pytestmark = pytest.mark.django_db


def _html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def test_given_modes_at_two_stages_then_the_catalog_groups_them_in_journey_order_with_counts(
    agent_client: Client, django_assert_max_num_queries
) -> None:
    later = TouchpointFactory(name="Billing", position=9)
    first = TouchpointFactory(name="Booking", position=1)
    FailureModeFactory(touchpoint=later, title="Charged twice")
    rare = FailureModeFactory(touchpoint=first, title="Website down", occurrence=2)
    cases_of(rare, 5)
    for _ in range(8):
        FailureModeFactory(touchpoint=later)

    with django_assert_max_num_queries(12):
        page = agent_client.get("/catalog/", {"period": 30})

    html = _html(page)
    assert page.status_code == 200
    assert html.index("Booking") < html.index("Billing")
    stages = page.context["stages"]
    assert [s.touchpoint.name for s in stages] == ["Booking", "Billing"]
    website = stages[0].entries[0]
    assert (website.observed.cases, website.observed.disagreement) == (5, "more")
    assert "Estimate disagrees: more often" in html
    assert "5 cases" in html


def test_given_a_site_filter_then_only_its_stages_and_the_all_site_ones_show(
    agent_client: Client,
) -> None:
    hall = SiteFactory(code="hall", name="Hall")
    depot = SiteFactory(code="depot", name="Depot")
    FailureModeFactory(touchpoint=TouchpointFactory(name="The show", site=hall), title="Dark")
    FailureModeFactory(touchpoint=TouchpointFactory(name="Delivery", site=depot), title="Late van")
    FailureModeFactory(touchpoint=TouchpointFactory(name="Billing"), title="Charged twice")

    page = agent_client.get("/catalog/", {"site": "hall"})

    titles = [e.mode.title for s in page.context["stages"] for e in s.entries]
    assert sorted(titles) == ["Charged twice", "Dark"]


def test_given_an_agent_when_proposing_then_it_waits_for_votes_and_bad_scores_show_on_the_form(
    agent_client: Client, agent
) -> None:
    stage = TouchpointFactory(name="Arrival")
    data = {
        "touchpoint": stage.pk,
        "title": "Doors open late",
        "severity": "4",
        "occurrence": "3",
        "detection": "",
    }

    refused = agent_client.post("/catalog/propose/", data)
    assert refused.status_code == 200
    assert "Score the detection from 1 to 10." in _html(refused)
    assert not FailureMode.objects.exists()

    proposed = agent_client.post("/catalog/propose/", {**data, "detection": "3"}, follow=True)
    mode = FailureMode.objects.get()
    assert (mode.status, mode.proposed_by, mode.rpn) == ("proposed", agent, 36)
    assert "“Doors open late” proposed." in _html(proposed)
    duplicate = agent_client.post("/catalog/propose/", {**data, "detection": "3"})
    assert duplicate.context["propose_form"].errors["title"]


def test_given_a_proposal_when_an_agent_votes_twice_then_one_vote_counts_and_no_decide_form(
    agent_client: Client,
) -> None:
    mode = FailureModeFactory(status=FailureMode.Status.PROPOSED, title="Bar queue")

    agent_client.post(f"/catalog/{mode.pk}/vote/", {"value": "1"})
    agent_client.post(f"/catalog/{mode.pk}/vote/", {"value": "-1"})
    page = agent_client.get("/catalog/")

    assert list(FailureModeVote.objects.values_list("value", flat=True)) == [-1]
    assert "You voted against" in _html(page)
    assert "Accept into the catalog" not in _html(page)
    assert (
        agent_client.post(f"/catalog/{mode.pk}/decide/", {"decision": "accept"}).status_code == 403
    )


def test_given_a_lead_when_rejecting_without_a_reason_then_asked_for_one(
    lead_client: Client,
) -> None:
    mode = FailureModeFactory(status=FailureMode.Status.PROPOSED, title="Seat colours")

    refused = lead_client.post(f"/catalog/{mode.pk}/decide/", {"decision": "reject"})
    assert refused.status_code == 200
    assert "reason is required" in _html(refused)
    mode.refresh_from_db()
    assert mode.status == "proposed"

    lead_client.post(f"/catalog/{mode.pk}/decide/", {"decision": "reject", "reason": "Taste"})
    mode.refresh_from_db()
    assert (mode.status, mode.decision_reason) == ("rejected", "Taste")
    assert "Taste" in _html(lead_client.get("/catalog/"))


def test_given_a_lead_when_accepting_then_the_mode_joins_the_catalog(lead_client: Client) -> None:
    mode = FailureModeFactory(status=FailureMode.Status.PROPOSED, title="Cold hall")

    response = lead_client.post(f"/catalog/{mode.pk}/decide/", {"decision": "accept"})

    assert response.status_code == 302
    mode.refresh_from_db()
    assert mode.status == "accepted"


def test_given_a_lead_when_rescoring_on_the_mode_page_then_the_rpn_changes(
    lead_client: Client, agent_client: Client
) -> None:
    mode = FailureModeFactory(severity=5, occurrence=3, detection=4, title="Late start")
    data = {
        "touchpoint": mode.touchpoint_id,
        "title": "Late start",
        "severity": "5",
        "occurrence": "6",
        "detection": "4",
    }

    assert "Edit and re-score" not in _html(agent_client.get(f"/catalog/{mode.pk}/"))
    assert agent_client.post(f"/catalog/{mode.pk}/edit/", data).status_code == 403
    bad = lead_client.post(f"/catalog/{mode.pk}/edit/", {**data, "occurrence": "11"})
    assert bad.context["edit_form"].errors["occurrence"]
    lead_client.post(f"/catalog/{mode.pk}/edit/", data)

    mode.refresh_from_db()
    assert (mode.occurrence, mode.rpn) == (6, 120)


def test_given_a_lead_when_adding_and_moving_touchpoints_then_the_journey_follows(
    lead_client: Client, agent_client: Client
) -> None:
    SiteFactory(code="hall", name="Hall")
    lead_client.post(
        "/catalog/touchpoints/", {"new-name": "Billing", "new-position": "9", "new-site": ""}
    )
    lead_client.post(
        "/catalog/touchpoints/", {"new-name": "Doors", "new-position": "2", "new-site": "hall"}
    )
    billing = Touchpoint.objects.get(name="Billing")

    lead_client.post(
        f"/catalog/touchpoints/{billing.pk}/",
        {f"tp{billing.pk}-name": "Billing", f"tp{billing.pk}-position": "1"},
    )

    assert list(Touchpoint.objects.values_list("name", flat=True)) == ["Billing", "Doors"]
    duplicate = lead_client.post(
        "/catalog/touchpoints/", {"new-name": "billing", "new-position": "3"}
    )
    assert "already a touchpoint" in _html(duplicate)
    assert agent_client.post("/catalog/touchpoints/", {"new-name": "X"}).status_code == 403


def test_given_high_risk_modes_then_coverage_ranks_them_and_highlights_the_gaps(
    agent_client: Client, django_assert_max_num_queries
) -> None:
    from bounceback.playbooks.models import Playbook

    outage = FailureModeFactory(title="Power outage", severity=9, occurrence=2, detection=8)
    FailureModeFactory(title="Phone system down", severity=7, occurrence=2, detection=8)
    FailureModeFactory(title="Cold hall", severity=3, occurrence=4, detection=2)
    Playbook.objects.create(name="Lights out plan", failure_mode=outage)

    with django_assert_max_num_queries(8):
        page = agent_client.get("/catalog/coverage/")

    html = _html(page)
    assert [r.mode.title for r in page.context["report"].rows] == [
        "Power outage",
        "Phone system down",
        "Cold hall",
    ]
    assert [r.mode.title for r in page.context["gaps"]] == ["Phone system down"]
    assert "Gap: no playbook" in html
    assert "Lights out plan" in html
    stricter = agent_client.get("/catalog/coverage/", {"threshold": "150"})
    assert stricter.context["gaps"] == []


def test_given_no_period_chosen_then_the_select_shows_the_period_the_counts_are_for(
    agent_client: Client,
) -> None:
    # Given a catalog with one mode
    FailureModeFactory(title="Website down")

    # When the catalog opens without a period, and with a site only
    plain = agent_client.get("/catalog/")
    site = SiteFactory()
    by_site = agent_client.get("/catalog/", {"site": site.code})

    # Then the period select shows the default period that the counts use
    for page in (plain, by_site):
        assert page.context["filter_form"]["period"].value() == "90"
        assert '<option value="90" selected>' in _html(page)
