"""The drills API: a drill end to end, refusals naming the field, scopes, list cost."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.cases.services import case_apologise
from bounceback.drills.models import Drill, DrillInject
from bounceback.testing.drills_factories import make_drill, make_scenario
from bounceback.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def drills_api(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("drills:write")


def _post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


def test_a_token_runs_a_drill_from_scenario_to_debrief(drills_api) -> None:
    scenario = make_scenario()
    agent = UserFactory(role=Role.AGENT)

    made = _post(
        drills_api,
        "/api/drills",
        {"scenario_id": scenario.pk, "mode": "tabletop", "participants": [{"user_id": agent.pk}]},
    )
    assert made.status_code == 201, made.content
    drill_id = made.json()["id"]
    assert made.json()["state"] == "scheduled"
    started = _post(drills_api, f"/api/drills/{drill_id}/start")
    assert started.json()["state"] == "running"
    stepped = _post(drills_api, f"/api/drills/{drill_id}/step").json()
    first = stepped["injects"][0]
    assert first["case_reference"] and first["delivered_at"]
    case = DrillInject.objects.get(pk=first["id"]).case
    case_apologise(
        case=case,
        actor=agent,
        body="I'm sorry, that was our fault; I'll fix it today so it will not happen again.",
        override_reason="drill",
    )
    logged = _post(drills_api, f"/api/drills/{drill_id}/log", {"text": "Lead calls the VIP"})
    assert logged.status_code == 201

    ended = _post(drills_api, f"/api/drills/{drill_id}/end").json()
    debrief = drills_api.get(f"/api/drills/{drill_id}/debrief").json()
    captured = drills_api.get(f"/api/drills/{drill_id}/captured").json()

    assert ended["state"] == "ended" and ended["readiness"] is not None
    assert {s["objective"] for s in ended["scores"]} >= {"apologise", "acknowledge", "cadence"}
    assert debrief["captured"] == 1 and debrief["timeline"]
    assert [m["state"] for m in captured] == ["captured"]
    team_score = next(s for s in ended["scores"] if s["user"] is None)
    adjusted = _post(
        drills_api,
        f"/api/drills/{drill_id}/scores/{team_score['id']}/adjust",
        {"rating": "P", "reason": "Observed on the floor"},
    )
    assert adjusted.json()["rating"] == "P"
    assert AuditEvent.objects.filter(action="drill_score_adjusted").exists()


def test_bad_input_is_a_4xx_naming_the_field(drills_api) -> None:
    scenario = make_scenario()

    bad_mode = _post(drills_api, "/api/drills", {"scenario_id": scenario.pk, "mode": "chaos"})
    no_scenario = _post(drills_api, "/api/drills", {"scenario_id": 99999})
    empty_inject = _post(
        drills_api,
        "/api/drills/scenarios",
        {
            "playbook_id": scenario.playbook_id,
            "title": "Another",
            "injects": [{"customer_name": "", "summary": "x", "message": "y"}],
        },
    )
    late = _post(
        drills_api,
        "/api/drills/scenarios",
        {
            "playbook_id": scenario.playbook_id,
            "title": "Too late",
            "injects": [
                {"customer_name": "A", "summary": "x", "message": "y", "offset_minutes": 99999}
            ],
        },
    )
    not_running = _post(drills_api, f"/api/drills/{make_drill(start=False).pk}/step")
    bad_rating_drill = make_drill()
    _post(drills_api, f"/api/drills/{bad_rating_drill.pk}/end")
    score = bad_rating_drill.scores.first()
    bad_rating = _post(
        drills_api,
        f"/api/drills/{bad_rating_drill.pk}/scores/{score.pk}/adjust",
        {"rating": "Z", "reason": "because"},
    )

    assert (bad_mode.status_code, bad_mode.json()["field"]) == (422, "mode")
    assert (no_scenario.status_code, no_scenario.json()["field"]) == (404, "scenario_id")
    assert empty_inject.status_code == 422
    assert empty_inject.json()["field"] == "injects[0].customer_name"
    assert late.json()["field"] == "injects[0].offset_minutes"
    assert not_running.status_code == 409
    assert (bad_rating.status_code, bad_rating.json()["field"]) == (422, "rating")


def test_scopes_and_roles_are_enforced(make_token_client) -> None:
    reader = make_token_client("drills:read")
    drill = make_drill(start=False)
    agent = Client()
    agent.force_login(UserFactory(role=Role.AGENT))

    assert reader.get(f"/api/drills/{drill.pk}").status_code == 200
    assert _post(reader, f"/api/drills/{drill.pk}/start").status_code == 403
    assert make_token_client("cases:read").get("/api/drills").status_code == 403
    # An agent sees drills and takes part, but does not run them.
    assert agent.get("/api/drills").status_code == 200
    assert _post(agent, f"/api/drills/{drill.pk}/start").status_code == 403
    assert Drill.objects.get(pk=drill.pk).state == "scheduled"


def test_generating_the_library_and_coverage_through_the_api(drills_api) -> None:
    scenario = make_scenario()

    generated = _post(drills_api, "/api/drills/scenarios/generate", {})
    coverage = drills_api.get("/api/drills/coverage").json()
    readiness = drills_api.get(
        f"/api/drills/readiness?playbook_id={scenario.playbook_id}&days=7"
    ).json()

    assert generated.status_code == 200
    assert coverage[0]["playbook_id"] == scenario.playbook_id
    assert coverage[0]["status"] == "never"
    assert len(readiness) == 8
    assert drills_api.get("/api/drills/readiness?playbook_id=9999").status_code == 404


def test_the_lists_cost_the_same_for_one_row_or_many(
    drills_api, django_assert_max_num_queries
) -> None:
    scenario = make_scenario()
    make_drill(scenario=scenario, start=False)
    with django_assert_max_num_queries(8) as one:
        assert drills_api.get("/api/drills").status_code == 200
    with django_assert_max_num_queries(8):
        assert drills_api.get("/api/drills/scenarios").status_code == 200
    for _ in range(4):
        make_drill(scenario=scenario, start=False)
        make_scenario(playbook=scenario.playbook, title=f"More {_}")

    with django_assert_max_num_queries(len(one.captured_queries)):
        body = drills_api.get("/api/drills").json()
    with django_assert_max_num_queries(8):
        scenarios = drills_api.get("/api/drills/scenarios").json()

    assert len(body["items"]) == 5
    assert len(scenarios["items"]) == 5


def test_coverage_schedules_and_captured_cost_the_same_for_few_rows_or_many(
    drills_api, django_assert_max_num_queries
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from bounceback.drills.services import drill_schedule_create
    from bounceback.testing.playbooks_factories import make_playbook

    manager = UserFactory(role=Role.MANAGER)
    drill = make_drill(actor=manager)
    case = DrillInject.objects.get(drill=drill, case__isnull=False).case
    case_apologise(
        case=case, actor=case.assignee, body="I'm sorry, that was our fault.", override_reason="x"
    )
    with django_assert_max_num_queries(15) as coverage_one:
        drills_api.get("/api/drills/coverage")
    with django_assert_max_num_queries(15) as captured_one:
        drills_api.get(f"/api/drills/{drill.pk}/captured")
    for i in range(3):
        playbook = make_playbook()
        drill_schedule_create(
            actor=manager, playbook=playbook, next_at=timezone.now() + timedelta(days=i)
        )
    drill_step = make_drill(actor=manager, scenario=drill.scenario)
    del drill_step

    with django_assert_max_num_queries(len(coverage_one.captured_queries)):
        coverage = drills_api.get("/api/drills/coverage").json()
    with django_assert_max_num_queries(6):
        schedules = drills_api.get("/api/drills/schedules").json()
    with django_assert_max_num_queries(len(captured_one.captured_queries)):
        captured = drills_api.get(f"/api/drills/{drill.pk}/captured").json()

    assert len(coverage) == 4 and len(schedules) == 3 and len(captured) == 1
