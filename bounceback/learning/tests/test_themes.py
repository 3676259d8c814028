"""Themes: cases grouped by what their texts say, kept up to date, and curated by staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.background.models import Job
from bounceback.cases.models import Case
from bounceback.failuremodes.models import FailureMode
from bounceback.learning.models import CaseText, Theme
from bounceback.learning.services import (
    THEMES_JOB,
    case_texts_refresh,
    theme_rename,
    themes_recompute,
    themes_recompute_due,
)
from bounceback.testing.factories import UserFactory
from bounceback.testing.failuremodes_factories import TouchpointFactory
from bounceback.testing.learning_factories import past_case, topic_cases

pytestmark = pytest.mark.django_db


def _theme_of(case: Case) -> int | None:
    return CaseText.objects.get(case=case).theme_id


def test_cases_about_the_same_failure_share_a_theme_with_a_readable_label(topics):
    # Given three kinds of complaint, six each, clustered into three themes
    themes = list(Theme.objects.active())

    # Then each kind is one theme, labelled by its own words
    assert len(themes) == 3
    for cases in topics.values():
        assert len({_theme_of(c) for c in cases}) == 1
    labels = {t.pk: t.label for t in themes}
    assert any(w in labels[_theme_of(topics["power"][0])] for w in ("power", "hall", "concert"))
    assert any(w in labels[_theme_of(topics["delivery"][0])] for w in ("delivery", "parcel"))
    assert all(t.case_count == 6 for t in themes)


def test_a_new_case_joins_its_theme_as_it_arrives(topics):
    power_theme = _theme_of(topics["power"][0])

    new = past_case("Blackout", "The power failed in the hall during the concert, lights out")
    case_texts_refresh()

    assert _theme_of(new) == power_theme
    assert Theme.objects.get(pk=power_theme).case_count == 7


def test_a_recompute_keeps_the_themes_and_the_names_staff_gave_them(topics, admin_user):
    power = Theme.objects.get(pk=_theme_of(topics["power"][0]))
    theme_rename(theme=power, name="Power cuts at the hall", actor=admin_user)

    themes_recompute(k=3)

    power.refresh_from_db()
    assert power.state == Theme.State.ACTIVE
    assert power.name == "Power cuts at the hall"
    assert _theme_of(topics["power"][0]) == power.pk
    assert not Theme.objects.filter(is_new=True).exists()


def test_a_theme_whose_cases_pile_up_this_week_is_flagged_growing():
    # Given delivery complaints all from this week, the others a month old
    made = topic_cases()
    old = timezone.now() - timedelta(days=40)
    Case.objects.filter(pk__in=[c.pk for c in made["power"] + made["repair"]]).update(
        created_at=old
    )
    case_texts_refresh()
    themes_recompute(k=3)

    delivery = Theme.objects.get(pk=_theme_of(made["delivery"][0]))
    power = Theme.objects.get(pk=_theme_of(made["power"][0]))
    assert delivery.growing and delivery.recent_count == 6
    assert not power.growing


def test_the_clock_asks_for_a_recompute_once_a_day(topics, settings):
    settings.BOUNCEBACK_THEMES_EVERY_HOURS = 24
    assert themes_recompute_due() == 0  # computed a moment ago
    later = timezone.now() + timedelta(hours=25)
    assert themes_recompute_due(now=later) == 1
    assert Job.objects.filter(kind=THEMES_JOB).count() == 1


def test_themes_api_lists_names_merges_splits_and_proposes(topics, make_token_client):
    client = make_token_client("learning:write", "catalog:write")
    power_id = _theme_of(topics["power"][0])
    delivery_id = _theme_of(topics["delivery"][0])

    listed = client.get("/api/learning/themes")
    assert listed.status_code == 200
    assert {t["id"] for t in listed.json()} >= {power_id, delivery_id}

    named = client.patch(
        f"/api/learning/themes/{power_id}", {"name": "Power cuts"}, content_type="application/json"
    )
    assert named.json()["title"] == "Power cuts"

    detail = client.get(f"/api/learning/themes/{power_id}").json()
    assert len(detail["representatives"]) == 3
    assert sum(w["cases"] for w in detail["weeks"]) == 6

    case_theme = client.get(f"/api/learning/cases/{topics['power'][1].pk}/theme").json()
    assert case_theme["theme"]["id"] == power_id

    split = client.post(f"/api/learning/themes/{power_id}/split")
    assert split.status_code == 201
    a, b = (t["id"] for t in split.json())
    assert sum(t["case_count"] for t in split.json()) == 6

    merged = client.post(
        f"/api/learning/themes/{a}/merge", {"into_id": b}, content_type="application/json"
    )
    assert merged.status_code == 200
    assert merged.json()["case_count"] == 6
    assert Theme.objects.get(pk=a).state == Theme.State.MERGED

    touchpoint = TouchpointFactory()
    proposed = client.post(
        f"/api/learning/themes/{delivery_id}/proposal",
        {"touchpoint_id": touchpoint.pk, "title": "Deliveries late after floods"},
        content_type="application/json",
    )
    assert proposed.status_code == 201
    mode = FailureMode.objects.get(pk=proposed.json()["failure_mode_id"])
    assert mode.status == FailureMode.Status.PROPOSED
    assert Theme.objects.get(pk=delivery_id).proposal_id == mode.pk


def test_bad_theme_requests_name_the_field(topics, make_token_client):
    client = make_token_client("learning:write", "catalog:write")
    power_id = _theme_of(topics["power"][0])

    itself = client.post(
        f"/api/learning/themes/{power_id}/merge",
        {"into_id": power_id},
        content_type="application/json",
    )
    assert itself.status_code == 422 and itself.json()["field"] == "into_id"
    missing = client.post(
        f"/api/learning/themes/{power_id}/merge",
        {"into_id": 99999},
        content_type="application/json",
    )
    assert missing.status_code == 404 and missing.json()["field"] == "into_id"
    state = client.get("/api/learning/themes?state=bogus")
    assert state.status_code == 422 and state.json()["field"] == "state"
    long_name = client.patch(
        f"/api/learning/themes/{power_id}", {"name": "x" * 200}, content_type="application/json"
    )
    assert long_name.status_code == 422
    read_only = make_token_client("learning:read")
    assert read_only.post(f"/api/learning/themes/{power_id}/split").status_code == 403
    assert Theme.objects.get(pk=power_id).state == Theme.State.ACTIVE


def test_an_agent_may_not_merge_themes(topics):
    from bounceback.errors import Forbidden
    from bounceback.learning.services import theme_merge

    agent = UserFactory(role=Role.AGENT)
    themes = list(Theme.objects.active())
    with pytest.raises(Forbidden):
        theme_merge(theme=themes[0], into=themes[1], actor=agent)


def test_theme_list_endpoints_query_count(topics, make_token_client, django_assert_max_num_queries):
    client = make_token_client("learning:read")
    theme_id = _theme_of(topics["repair"][0])
    with django_assert_max_num_queries(4):
        assert client.get("/api/learning/themes").status_code == 200
    with django_assert_max_num_queries(4):
        assert len(client.get(f"/api/learning/themes/{theme_id}/cases").json()["items"]) == 6
