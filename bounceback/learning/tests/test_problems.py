"""Problem records: one cause, a corrective action, and proof that the cases stopped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.learning.models import Problem
from bounceback.learning.recurrence import compare
from bounceback.learning.services import (
    problem_action_done,
    problem_create,
    problem_update,
    problem_verify,
    problems_check,
)
from bounceback.testing.factories import UserFactory
from bounceback.testing.failuremodes_factories import FailureModeFactory
from bounceback.testing.learning_factories import cases_at, past_case, volume

pytestmark = pytest.mark.django_db


def test_the_rate_test_needs_a_real_drop_per_transaction():
    # 20 cases in 1,000 transactions, then 2 in 1,000: a real drop
    assert compare(before_cases=20, before_volume=1000, after_cases=2, after_volume=1000).dropped
    # 10 then 9 with the same volume: chance
    assert not compare(
        before_cases=10, before_volume=1000, after_cases=9, after_volume=1000
    ).dropped
    # The same 10 cases after, but five times the business: the rate fell
    fell = compare(before_cases=10, before_volume=1000, after_cases=10, after_volume=5000)
    assert fell.dropped and fell.ratio == pytest.approx(0.2)
    # Fewer cases only because the business was quieter: not a drop
    quiet = compare(before_cases=10, before_volume=1000, after_cases=3, after_volume=300)
    assert not quiet.dropped


@pytest.fixture
def lead():  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.LEAD)


@pytest.fixture
def mode():  # type: ignore[no-untyped-def]
    return FailureModeFactory(status="accepted")


def _problem_with_history(lead, mode, *, after: int) -> Problem:  # type: ignore[no-untyped-def]
    """12 cases in the 4 weeks before the action, `after` in the 4 weeks since, even volume."""
    now = timezone.now()
    done = now - timedelta(days=28)
    volume(done - timedelta(days=28), 56, 5)
    cases_at([done - timedelta(days=2 * i + 1) for i in range(12)], failure_mode=mode)
    cases_at([done + timedelta(days=3 * i + 1) for i in range(after)], failure_mode=mode)
    problem = problem_create(actor=lead, title="Deliveries late", failure_mode=mode)
    problem_update(problem=problem, actor=lead, corrective_action="Second van on flood days")
    return problem_action_done(problem=problem, actor=lead, at=done)


def test_a_problem_is_verified_fixed_only_when_recurrence_really_dropped(lead, mode):
    problem = problem_verify(problem=_problem_with_history(lead, mode, after=1))

    assert problem.status == Problem.Status.VERIFIED_FIXED
    assert problem.last_check["before_cases"] == 12 and problem.last_check["after_cases"] == 1
    assert problem.last_check["p_lower"] < 0.05


def test_no_verification_when_the_cases_kept_coming(lead, mode):
    problem = problem_verify(problem=_problem_with_history(lead, mode, after=8))

    assert problem.status == Problem.Status.WATCHING
    assert not problem.last_check["dropped"]


def test_a_verified_problem_reopens_by_itself_when_its_cases_come_back(lead, mode):
    problem = problem_verify(problem=_problem_with_history(lead, mode, after=1))
    assert problem.status == Problem.Status.VERIFIED_FIXED
    now = timezone.now()
    volume(now - timedelta(days=1), 7, 5)
    cases_at([now + timedelta(hours=i + 1) for i in range(5)], failure_mode=mode)

    done = problems_check(now=now + timedelta(days=2))

    problem.refresh_from_db()
    assert done["reopened"] == 1
    assert problem.status == Problem.Status.REOPENED and problem.reopened_at is not None


def test_a_new_matching_case_shows_the_workaround(lead, mode, agent_client):
    problem = problem_create(actor=lead, title="Deliveries late", failure_mode=mode)
    problem_update(problem=problem, actor=lead, workaround="Offer collection from the depot")
    case = past_case("Parcel late again", "Still no parcel", failure_mode=mode)

    page = agent_client.get(f"/cases/{case.pk}/duplicates/").content.decode()

    assert "Offer collection from the depot" in page and problem.reference in page


def test_problems_api_and_bad_input(lead, mode, make_token_client):
    client = make_token_client("learning:write")
    case = past_case("Parcel late", "It came late", failure_mode=mode)

    def post(url: str, body: dict):  # type: ignore[no-untyped-def]
        return client.post(url, body, content_type="application/json")

    nothing = post("/api/learning/problems", {"title": "Vague"})
    assert nothing.status_code == 422 and nothing.json()["field"] == "case_ids"
    no_theme = post("/api/learning/problems", {"title": "x", "theme_id": 999})
    assert no_theme.status_code == 404 and no_theme.json()["field"] == "theme_id"
    no_case = post("/api/learning/problems", {"title": "x", "case_ids": [case.pk, 9999]})
    assert no_case.status_code == 404 and no_case.json()["field"] == "case_ids"
    assert Problem.objects.count() == 0

    made = post("/api/learning/problems", {"title": "Late parcels", "failure_mode_id": mode.pk})
    assert made.status_code == 201
    body = made.json()
    assert body["reference"].startswith("PRB-") and body["case_count"] == 1
    url = f"/api/learning/problems/{body['id']}"

    early = post(f"{url}/action-done", {})
    assert early.status_code == 422 and early.json()["field"] == "corrective_action"
    owner = client.patch(url, {"action_owner_id": 999}, content_type="application/json")
    assert owner.status_code == 404 and owner.json()["field"] == "action_owner_id"
    patched = client.patch(
        url,
        {"corrective_action": "Second van", "action_due": "2030-01-31", "action_owner_id": lead.pk},
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["action_due"] == "2030-01-31"
    done = post(f"{url}/action-done", {})
    assert done.json()["status"] == "watching"

    bad = client.get("/api/learning/pareto?by=colour")
    assert bad.status_code == 422 and bad.json()["field"] == "by"
    assert make_token_client("learning:read").post(f"{url}/verify").status_code == 403


def test_problem_list_query_count(lead, mode, make_token_client, django_assert_max_num_queries):
    for i in range(3):
        problem_create(actor=lead, title=f"Problem {i}", failure_mode=mode)
    client = make_token_client("learning:read")
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/learning/problems").json()) == 3


def test_pareto_compares_the_period_with_the_one_before(mode, make_token_client):
    now = timezone.now()
    cases_at([now - timedelta(days=i + 1) for i in range(4)], failure_mode=mode)
    cases_at([now - timedelta(days=35)], failure_mode=mode)
    cases_at([now - timedelta(days=2)])

    rows = make_token_client("learning:read").get("/api/learning/pareto?by=failure_mode&days=30")

    first = rows.json()[0]
    assert (first["key"], first["cases"], first["previous"], first["change"]) == (
        mode.title,
        4,
        1,
        3,
    )
    assert rows.json()[1]["key"] == "Not set"
    assert rows.json()[-1]["cumulative"] == 1.0


def test_problem_page_draws_before_and_after(lead, mode):
    problem = problem_verify(problem=_problem_with_history(lead, mode, after=1))
    client = Client()
    client.force_login(lead)
    page = client.get(f"/learning/problems/{problem.pk}/").content.decode()
    assert '<svg class="chart"' in page and "bar--before" in page and "bar--after" in page
    assert "Verified fixed" in page
    trends = client.get("/learning/trends/?by=channel&days=30")
    assert trends.status_code == 200
