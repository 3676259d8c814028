from __future__ import annotations

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.failuremodes.models import FailureMode, FailureModeVote
from bounceback.testing.factories import SiteFactory, UserFactory
from bounceback.testing.failuremodes_factories import (
    FailureModeFactory,
    TouchpointFactory,
    cases_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog_api(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("catalog:read", "catalog:write")


def _post(client, url: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(url, body or {}, content_type="application/json")


def test_given_a_proposal_when_voted_and_accepted_by_token_then_it_is_in_the_catalog(
    catalog_api,
) -> None:
    stage = TouchpointFactory(name="Billing")

    proposed = _post(
        catalog_api,
        "/api/catalog/failure-modes",
        {
            "touchpoint_id": stage.pk,
            "title": "Charged twice",
            "severity": 6,
            "occurrence": 3,
            "detection": 7,
        },
    )
    assert proposed.status_code == 201
    body = proposed.json()
    assert (body["status"], body["rpn"], body["touchpoint"]) == ("proposed", 126, "Billing")

    accepted = _post(catalog_api, f"/api/catalog/failure-modes/{body['id']}/accept")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    listed = catalog_api.get("/api/catalog/failure-modes", {"status": "accepted"}).json()
    assert [m["title"] for m in listed] == ["Charged twice"]


def test_given_bad_scores_when_proposing_then_422_names_the_field(catalog_api) -> None:
    stage = TouchpointFactory()

    refused = _post(
        catalog_api,
        "/api/catalog/failure-modes",
        {"touchpoint_id": stage.pk, "title": "X", "severity": 0, "occurrence": 3, "detection": 3},
    )

    assert refused.status_code == 422
    assert refused.json()["field"] == "severity"
    assert not FailureMode.objects.exists()


def test_given_a_duplicate_title_when_proposing_then_409(catalog_api) -> None:
    mode = FailureModeFactory(title="Doors open late")

    refused = _post(
        catalog_api,
        "/api/catalog/failure-modes",
        {
            "touchpoint_id": mode.touchpoint_id,
            "title": "doors open late",
            "severity": 3,
            "occurrence": 3,
            "detection": 3,
        },
    )

    assert (refused.status_code, refused.json()["field"]) == (409, "title")


def test_given_an_agent_session_when_accepting_then_403_but_voting_works(agent) -> None:
    client = Client()
    client.force_login(agent)
    mode = FailureModeFactory(status=FailureMode.Status.PROPOSED)

    forbidden = _post(client, f"/api/catalog/failure-modes/{mode.pk}/accept")
    voted = _post(client, f"/api/catalog/failure-modes/{mode.pk}/votes", {"value": 1})

    assert forbidden.status_code == 403
    assert voted.status_code == 200
    assert (voted.json()["votes_up"], voted.json()["votes_down"]) == (1, 0)
    assert FailureModeVote.objects.get().voter == agent


def test_given_a_lead_session_when_rejecting_without_reason_then_422_then_with_one_ok() -> None:
    client = Client()
    client.force_login(UserFactory(role=Role.LEAD))
    mode = FailureModeFactory(status=FailureMode.Status.PROPOSED)
    url = f"/api/catalog/failure-modes/{mode.pk}/reject"

    assert _post(client, url).json()["field"] == "reason"
    rejected = _post(client, url, {"reason": "Same as 'Late start'"})

    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["decision_reason"]) == (
        "rejected",
        "Same as 'Late start'",
    )


def test_given_real_cases_when_listing_then_counts_follow_the_period_and_flag_disagreement(
    catalog_api, django_assert_max_num_queries
) -> None:
    # Estimated as rare (occurrence 2) but six cases in the last month: weekly or more.
    busy = FailureModeFactory(title="Queue at the doors", occurrence=2)
    cases_of(busy, 6, days_ago=5)
    calm = FailureModeFactory(title="Lost tickets", occurrence=3)
    cases_of(calm, 1, days_ago=200)
    for _ in range(10):
        FailureModeFactory()

    # The token, then the modes with their counts, then the start of the case history.
    with django_assert_max_num_queries(4):
        month = catalog_api.get("/api/catalog/failure-modes", {"period_days": 30})

    rows = {m["title"]: m["observed"] for m in month.json()}
    assert rows["Queue at the doors"]["case_count"] == 6
    assert rows["Queue at the doors"]["implied_occurrence"] == 7  # 4 to 8 a month
    assert rows["Queue at the doors"]["disagreement"] == "more"
    assert rows["Lost tickets"]["case_count"] == 0
    assert rows["Lost tickets"]["disagreement"] is None
    year = catalog_api.get("/api/catalog/failure-modes", {"period_days": 365}).json()
    assert {m["title"]: m["observed"]["case_count"] for m in year}["Lost tickets"] == 1


def test_given_a_bad_period_when_listing_then_422(catalog_api) -> None:
    refused = catalog_api.get("/api/catalog/failure-modes", {"period_days": 0})

    assert (refused.status_code, refused.json()["field"]) == (422, "period_days")


def test_given_touchpoints_when_created_and_patched_by_token_then_journey_order_follows(
    catalog_api,
) -> None:
    SiteFactory(code="hall", name="Hall")
    first = _post(catalog_api, "/api/catalog/touchpoints", {"name": "Billing", "position": 5})
    second = _post(
        catalog_api, "/api/catalog/touchpoints", {"name": "Doors", "site": "hall", "position": 2}
    )
    assert (first.status_code, second.json()["site"]) == (201, "hall")

    moved = catalog_api.patch(
        f"/api/catalog/touchpoints/{first.json()['id']}",
        {"position": 1},
        content_type="application/json",
    )

    assert moved.status_code == 200
    names = [t["name"] for t in catalog_api.get("/api/catalog/touchpoints").json()]
    assert names == ["Billing", "Doors"]
    duplicate = _post(catalog_api, "/api/catalog/touchpoints", {"name": "billing"})
    assert (duplicate.status_code, duplicate.json()["field"]) == (409, "name")


def test_given_a_patch_when_rescoring_then_the_rpn_is_recomputed(catalog_api) -> None:
    mode = FailureModeFactory(severity=5, occurrence=3, detection=4)

    patched = catalog_api.patch(
        f"/api/catalog/failure-modes/{mode.pk}",
        {"occurrence": 6},
        content_type="application/json",
    )

    assert (patched.status_code, patched.json()["rpn"]) == (200, 120)
    bad = catalog_api.patch(
        f"/api/catalog/failure-modes/{mode.pk}", {"detection": 11}, content_type="application/json"
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "detection")


def test_given_playbooks_when_reading_coverage_then_high_risk_without_one_are_gaps(
    catalog_api, django_assert_max_num_queries
) -> None:
    from bounceback.playbooks.models import Playbook

    covered = FailureModeFactory(title="Power outage", severity=9, occurrence=2, detection=8)
    gap = FailureModeFactory(title="Phone system down", severity=7, occurrence=2, detection=8)
    severe_but_rare = FailureModeFactory(title="Fire", severity=10, occurrence=1, detection=2)
    FailureModeFactory(title="Cold hall", severity=3, occurrence=4, detection=2)
    Playbook.objects.create(name="Power outage playbook", failure_mode=covered)
    Playbook.objects.create(name="Old phones plan", failure_mode=gap, archived=True)

    # The token (and its last use), the modes, their playbooks.
    with django_assert_max_num_queries(4):
        report = catalog_api.get("/api/catalog/coverage").json()

    assert [r["title"] for r in report["items"]] == [
        "Power outage",
        "Phone system down",
        "Cold hall",
        "Fire",
    ]
    by_title = {r["title"]: r for r in report["items"]}
    assert by_title["Power outage"]["playbooks"][0]["name"] == "Power outage playbook"
    assert by_title["Phone system down"]["gap"] is True
    assert by_title[severe_but_rare.title]["gap"] is True
    assert by_title["Cold hall"]["high_risk"] is False
    assert report["gaps"] == 2
    stricter = catalog_api.get("/api/catalog/coverage", {"threshold": 120}).json()
    assert stricter["gaps"] == 1  # only Fire, severity 10: the phones' RPN 112 is below 120
    assert catalog_api.get("/api/catalog/coverage", {"threshold": 0}).status_code == 422


def test_reading_the_catalog_needs_the_catalog_scope(make_token_client) -> None:
    client = make_token_client("cases:read")

    assert client.get("/api/catalog/failure-modes").status_code == 403
