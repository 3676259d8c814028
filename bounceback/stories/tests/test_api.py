"""The stories API: drafting to recognition, refusals naming the field, list cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.stories.models import Recognition, Story
from bounceback.stories.tests.conftest import happy_case
from bounceback.testing.factories import UserFactory
from bounceback.testing.failuremodes_factories import TouchpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stories_api(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("stories:write")


def _post(client, url: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(url, body or {}, content_type="application/json")


def test_a_token_drafts_edits_nominates_publishes_and_recognises(case, stories_api) -> None:
    drafted = _post(stories_api, "/api/stories", {"case_id": case.pk})
    assert drafted.status_code == 201
    body = drafted.json()
    assert body["state"] == "draft" and body["staff"]["name"] == "Sam Reyes"
    assert "Anna" not in str(body)

    edited = stories_api.patch(
        f"/api/stories/{body['id']}",
        {"tags": ["Rooms", "vip"], "title": "The quiet floor"},
        content_type="application/json",
    )
    assert edited.status_code == 200 and edited.json()["tags"] == ["rooms", "vip"]
    assert _post(stories_api, f"/api/stories/{body['id']}/nominate").json()["state"] == "nominated"
    recognised = _post(stories_api, f"/api/stories/{body['id']}/recognitions", {"kind": "monthly"})
    assert recognised.status_code == 201
    assert recognised.json()["person"]["name"] == "Sam Reyes"
    published = _post(stories_api, f"/api/stories/{body['id']}/publish")
    assert published.json()["state"] == "published"

    counts = stories_api.get("/api/stories/recognition-counts").json()
    assert counts["people"][0] == {
        "id": case.assignee_id,
        "name": "Sam Reyes",
        "kudos": 0,
        "monthly": 1,
        "total": 1,
    }
    assert counts["teams"][0]["name"] == "Front desk"
    this_month = stories_api.get("/api/stories/recognition-counts", {"period": "month"})
    assert this_month.json()["people"][0]["monthly"] == 1
    Recognition.objects.update(created_at=timezone.now() - timedelta(days=40))
    assert (
        stories_api.get("/api/stories/recognition-counts", {"period": "month"}).json()["people"]
        == []
    )
    bad = stories_api.get("/api/stories/recognition-counts", {"period": "year"})
    assert (bad.status_code, bad.json()["field"]) == (422, "period")


def test_bad_input_is_a_4xx_naming_the_field(case, stories_api) -> None:
    missing = _post(stories_api, "/api/stories", {"case_id": 999999})
    assert (missing.status_code, missing.json()["field"]) == (404, "case_id")

    story_id = _post(stories_api, "/api/stories", {"case_id": case.pk}).json()["id"]
    again = _post(stories_api, "/api/stories", {"case_id": case.pk})
    assert (again.status_code, again.json()["field"]) == (409, "case")

    bad_tags = stories_api.patch(
        f"/api/stories/{story_id}", {"tags": ["no<tags>"]}, content_type="application/json"
    )
    assert (bad_tags.status_code, bad_tags.json()["field"]) == (422, "tags")
    null_title = stories_api.patch(
        f"/api/stories/{story_id}", {"title": None}, content_type="application/json"
    )
    assert null_title.status_code == 422
    bad_kind = _post(stories_api, f"/api/stories/{story_id}/recognitions", {"kind": "medal"})
    assert (bad_kind.status_code, bad_kind.json()["field"]) == (422, "kind")
    no_touchpoint = _post(stories_api, f"/api/stories/{story_id}/prevention", {})
    assert (no_touchpoint.status_code, no_touchpoint.json()["field"]) == (422, "touchpoint")
    assert Story.objects.get().tags == "housekeeping"


def test_prevention_becomes_a_proposal_through_the_api(case, stories_api) -> None:
    story_id = _post(stories_api, "/api/stories", {"case_id": case.pk}).json()["id"]
    stage = TouchpointFactory()

    proposed = _post(
        stories_api,
        f"/api/stories/{story_id}/prevention",
        {"touchpoint_id": stage.pk, "severity": 6, "occurrence": 4, "detection": 5},
    )

    assert proposed.status_code == 201 and proposed.json()["status"] == "proposed"
    story = stories_api.get(f"/api/stories/{story_id}").json()
    assert story["proposed_failure_mode_id"] == proposed.json()["failure_mode_id"]


def test_scopes_and_roles_are_enforced(case, make_token_client) -> None:
    reader = make_token_client("stories:read")
    assert _post(reader, "/api/stories", {"case_id": case.pk}).status_code == 403
    assert make_token_client("cases:read").get("/api/stories").status_code == 403

    agent = Client()
    agent.force_login(UserFactory(role=Role.AGENT))
    story_id = _post(agent, "/api/stories", {"case_id": case.pk}).json()["id"]
    assert _post(agent, f"/api/stories/{story_id}/nominate").status_code == 200
    assert _post(agent, f"/api/stories/{story_id}/publish").status_code == 403
    refused = _post(agent, f"/api/stories/{story_id}/recognitions", {"kind": "kudos"})
    assert refused.status_code == 403


def test_the_list_filters_and_costs_the_same_for_one_story_or_many(
    stories_api, django_assert_num_queries
) -> None:
    first = happy_case()
    _post(stories_api, "/api/stories", {"case_id": first.pk})
    # The token's check and one page of stories, whatever their number.
    with django_assert_num_queries(2):
        stories_api.get("/api/stories")
    for _ in range(4):
        _post(stories_api, "/api/stories", {"case_id": happy_case(team=first.team).pk})

    with django_assert_num_queries(2):
        listed = stories_api.get("/api/stories", {"limit": 10})
    assert len(listed.json()["items"]) == 5
    searched = stories_api.get("/api/stories", {"q": "not cleaned", "tag": "housekeeping"})
    assert len(searched.json()["items"]) == 5
    assert stories_api.get("/api/stories", {"tag": "travel"}).json()["items"] == []
