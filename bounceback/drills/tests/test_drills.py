"""Running drills: injects on the clock or by the facilitator, scores, debrief,
improvement plan, library, schedules, readiness and coverage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.cases.services import case_apologise, case_send_update
from bounceback.drills import selectors, services
from bounceback.drills.models import (
    Drill,
    DrillInject,
    DrillScore,
    ImprovementItem,
    Objective,
    Scenario,
)
from bounceback.drills.scoring import readiness_at
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.failuremodes.models import FailureMode
from bounceback.testing.drills_factories import inject, make_drill, make_scenario
from bounceback.testing.factories import UserFactory
from bounceback.testing.failuremodes_factories import FailureModeFactory
from bounceback.testing.playbooks_factories import make_playbook

pytestmark = pytest.mark.django_db

APOLOGY = (
    "I'm so sorry: the show stopped because our generator failed, and that is on us. "
    "I am refunding your tickets today and we are adding a second generator so it "
    "does not happen again."
)


def test_given_a_live_drill_when_the_clock_passes_an_injects_offset_then_it_arrives_once():
    drill = make_drill()
    later = timezone.now() + timedelta(minutes=11)

    assert services.drill_injects_run_due(now=later) == 1
    assert services.drill_injects_run_due(now=later) == 0

    delivered = DrillInject.objects.filter(drill=drill, case__isnull=False)
    assert delivered.count() == 2
    drill.refresh_from_db()
    assert drill.next_inject_at is None


def test_given_a_tabletop_drill_then_injects_wait_for_the_facilitator_and_the_scribe_logs():
    manager = UserFactory(role=Role.MANAGER)
    scribe = UserFactory(role=Role.AGENT)
    drill = make_drill(actor=manager, mode="tabletop")
    services.drill_participant_add(drill=drill, actor=manager, user=scribe, role="scribe")
    assert services.drill_injects_run_due(now=timezone.now() + timedelta(hours=1)) == 0

    first = services.drill_step(drill=drill, actor=manager)
    services.drill_log_add(drill=drill, actor=scribe, text="Lead takes the VIP", inject=first)
    services.drill_step(drill=drill, actor=manager)

    with pytest.raises(Conflict):
        services.drill_step(drill=drill, actor=manager)
    assert drill.log.filter(kind="decision", text="Lead takes the VIP").exists()


def test_given_an_outsider_when_logging_in_a_drill_then_refused():
    drill = make_drill()
    with pytest.raises(Forbidden):
        services.drill_log_add(drill=drill, actor=UserFactory(role=Role.AGENT), text="hello")


def test_given_a_drill_worked_well_and_badly_when_ended_then_each_objective_is_rated():
    responder = UserFactory(role=Role.AGENT)
    manager = UserFactory(role=Role.MANAGER)
    drill = make_drill(actor=manager, responder=responder)
    start = drill.started_at
    services.drill_injects_run_due(now=start + timedelta(minutes=10))
    first, _second = DrillInject.objects.filter(drill=drill).order_by("position")
    # The first complaint is answered at once and updated; the second never.
    case_apologise(case=first.case, actor=responder, body=APOLOGY, override_reason="drill")
    case_send_update(case=first.case, actor=responder, body="Still on it: the engineer is here.")

    ended = services.drill_end(drill=drill, actor=manager, now=start + timedelta(minutes=15))

    team = {s.objective: s for s in DrillScore.objects.filter(drill=ended, user__isnull=True)}
    assert team[Objective.APOLOGISE].rating == "M"  # 1 of 2
    assert team[Objective.APOLOGISE].measure.startswith("1 of 2")
    assert team[Objective.CADENCE].rating == "P"
    assert team[Objective.CHECKLIST].rating == "U"  # nothing ticked
    assert team[Objective.GESTURES].rating == ""  # none given: nothing to rate
    mine = DrillScore.objects.get(drill=ended, user=responder, objective=Objective.APOLOGISE)
    assert mine.rating == "M"
    assert ended.readiness is not None and 0 < ended.readiness < 100
    debrief = ended.debrief
    assert any("no apology" in line for line in debrief["slow"])
    assert debrief["coaching"] and debrief["coaching"][0]["case"] == first.case.reference
    assert debrief["captured"] == 2  # the apology and the update, kept in the sandbox
    assert ImprovementItem.objects.filter(drill=ended).exists()


def test_given_an_ended_drill_when_the_facilitator_adjusts_a_rating_then_it_is_kept_and_audited():
    manager = UserFactory(role=Role.MANAGER)
    drill = make_drill(actor=manager)
    drill = services.drill_end(drill=drill, actor=manager)
    score = DrillScore.objects.get(drill=drill, user__isnull=True, objective=Objective.CHECKLIST)
    before = drill.readiness

    with pytest.raises(ValidationFailed):
        services.drill_score_adjust(score=score, actor=manager, rating="P", reason=" ")
    services.drill_score_adjust(
        score=score, actor=manager, rating="s", reason="Checklist was on paper"
    )

    score.refresh_from_db()
    assert (score.rating, score.measured_rating) == ("S", "U")
    drill.refresh_from_db()
    assert drill.readiness > before
    assert AuditEvent.objects.filter(
        action="drill_score_adjusted", target=f"drill:{drill.pk}"
    ).exists()


def test_given_an_agent_when_adjusting_a_rating_then_refused():
    manager = UserFactory(role=Role.MANAGER)
    drill = services.drill_end(drill=make_drill(actor=manager), actor=manager)
    score = drill.scores.first()
    with pytest.raises(Forbidden):
        services.drill_score_adjust(
            score=score, actor=UserFactory(role=Role.AGENT), rating="P", reason="x"
        )


def test_given_plan_items_when_applied_then_they_become_a_playbook_revision_and_a_proposal():
    manager = UserFactory(role=Role.MANAGER)
    drill = services.drill_end(drill=make_drill(actor=manager), actor=manager)
    revise = services.improvement_add(
        drill=drill,
        actor=manager,
        text="Name a VIP handler before the shift",
        kind="playbook_revision",
        owner=manager,
    )
    propose = services.improvement_add(
        drill=drill, actor=manager, text="Backup generator not tested", kind="failure_mode"
    )

    services.improvement_apply(item=revise, actor=manager)
    services.improvement_apply(item=propose, actor=manager)

    playbook = drill.playbook
    playbook.refresh_from_db()
    assert playbook.current.number == 2
    assert playbook.current.actions.filter(title="Name a VIP handler before the shift").exists()
    propose.refresh_from_db()
    assert propose.failure_mode.status == FailureMode.Status.PROPOSED
    with pytest.raises(Conflict):
        services.improvement_apply(item=revise, actor=manager)


def test_given_high_risk_modes_with_playbooks_when_generating_then_one_scenario_each_once():
    manager = UserFactory(role=Role.MANAGER)
    risky = make_playbook(failure_mode=FailureModeFactory(severity=9, occurrence=6, detection=5))
    make_playbook(failure_mode=FailureModeFactory(severity=2, occurrence=2, detection=2))

    made = services.drills_library_generate(actor=manager)
    again = services.drills_library_generate(actor=manager)

    assert [s.playbook for s in made] == [risky]
    assert again == []
    personas = set(made[0].injects.values_list("persona", flat=True))
    assert personas == {"chronic_complainer", "vip", "spanish", "refund_outside_policy"}


def test_given_a_generated_scenario_when_edited_then_its_injects_are_replaced():
    manager = UserFactory(role=Role.MANAGER)
    scenario = make_scenario(actor=manager)

    services.scenario_update(
        scenario=scenario, actor=manager, injects=[inject(offset_minutes=5, persona="spanish")]
    )

    assert list(scenario.injects.values_list("persona", "offset_minutes")) == [("spanish", 5)]
    with pytest.raises(ValidationFailed) as refused:
        services.scenario_update(
            scenario=scenario, actor=manager, injects=[inject(customer_name=" ")]
        )
    assert refused.value.field == "injects[0].customer_name"


def test_given_a_schedule_when_due_then_the_clock_opens_one_drill_and_moves_on():
    manager = UserFactory(role=Role.MANAGER)
    scenario = make_scenario(actor=manager)
    now = timezone.now()
    schedule = services.drill_schedule_create(
        actor=manager, playbook=scenario.playbook, next_at=now, every_days=30
    )

    assert services.drill_schedules_run_due(now=now + timedelta(seconds=1)) == 1
    assert services.drill_schedules_run_due(now=now + timedelta(seconds=2)) == 0

    schedule.refresh_from_db()
    assert schedule.next_at == now + timedelta(days=30)
    drill = Drill.objects.get(schedule=schedule)
    assert drill.state == Drill.State.SCHEDULED and drill.scheduled_for == now


def test_given_high_risk_playbooks_when_ensuring_schedules_then_each_gets_a_monthly_one():
    manager = UserFactory(role=Role.MANAGER)
    risky = make_playbook(failure_mode=FailureModeFactory(severity=9, occurrence=6, detection=5))

    made = services.drill_schedules_ensure_high_risk(actor=manager)

    assert [(s.playbook, s.every_days) for s in made] == [(risky, 30)]
    assert services.drill_schedules_ensure_high_risk(actor=manager) == []


def test_readiness_falls_to_a_quarter_after_thirty_days():
    ended = timezone.now()
    assert readiness_at(80, ended_at=ended, at=ended) == 80
    assert readiness_at(80, ended_at=ended, at=ended + timedelta(days=30)) == pytest.approx(20)


def test_given_playbooks_drilled_and_not_then_coverage_shows_never_stale_and_current():
    manager = UserFactory(role=Role.MANAGER)
    never = make_playbook()
    drilled = services.drill_end(drill=make_drill(actor=manager), actor=manager)
    old = services.drill_end(drill=make_drill(actor=manager), actor=manager)
    Drill.objects.filter(pk=old.pk).update(ended_at=timezone.now() - timedelta(days=90))

    rows = {row.playbook.pk: row for row in selectors.coverage()}

    assert rows[never.pk].status == "never"
    assert rows[drilled.playbook_id].status == "current"
    assert rows[old.playbook_id].status == "stale"
    assert rows[old.playbook_id].readiness < rows[drilled.playbook_id].readiness + 1


def test_given_a_drill_a_week_ago_then_the_trend_rises_then_decays_and_draws_as_svg():
    manager = UserFactory(role=Role.MANAGER)
    drill = services.drill_end(drill=make_drill(actor=manager), actor=manager)
    Drill.objects.filter(pk=drill.pk).update(
        ended_at=timezone.now() - timedelta(days=7), readiness=80
    )

    points = selectors.readiness_trend(playbook=drill.playbook, days=14)
    chart = selectors.readiness_chart(points, title="Readiness")

    assert points[0].readiness == 0
    assert points[7].readiness == pytest.approx(80, abs=1)
    assert points[-1].readiness < points[7].readiness
    assert "<svg" in chart.svg and "Readiness" in chart.text


def test_a_scenario_title_is_unique_per_playbook():
    manager = UserFactory(role=Role.MANAGER)
    scenario = make_scenario(actor=manager)
    with pytest.raises(Conflict):
        make_scenario(actor=manager, playbook=scenario.playbook, title=scenario.title)
    assert Scenario.objects.count() == 1


def test_given_an_ended_drill_then_its_cases_are_closed_and_stop_their_timers():
    from bounceback.cases.models import Case
    from bounceback.cases.services import case_close_drill
    from bounceback.testing.funds_factories import open_case
    from bounceback.timers.models import Timer

    manager = UserFactory(role=Role.MANAGER)
    drill = make_drill(actor=manager)
    case = DrillInject.objects.get(drill=drill, case__isnull=False).case

    services.drill_end(drill=drill, actor=manager)

    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.next_due_at is None
    running = Timer.objects.for_subject("case", case.pk).filter(state=Timer.State.RUNNING)
    assert not running.exists()
    with pytest.raises(Conflict):
        case_close_drill(case=open_case(), actor=manager, reason="not a drill")


def test_given_injects_on_every_channel_then_each_arrives_as_a_case_on_its_channel():
    manager = UserFactory(role=Role.MANAGER)
    channels = ["email", "web", "sms", "chat", "social"]
    scenario = make_scenario(
        actor=manager,
        injects=[inject(customer_name=f"Customer {c}", channel=c) for c in channels],
    )

    drill = make_drill(actor=manager, scenario=scenario)

    arrived = DrillInject.objects.filter(drill=drill).select_related("case", "customer")
    assert sorted(i.case.channel for i in arrived) == sorted(channels)
    sms = next(i for i in arrived if i.channel == "sms")
    assert sms.customer.primary_phone


def test_a_drill_keeps_one_team_score_per_objective_on_every_database():
    # Given an ended drill with its team scores
    responder = UserFactory(role=Role.AGENT)
    manager = UserFactory(role=Role.MANAGER)
    drill = make_drill(actor=manager, responder=responder)
    services.drill_injects_run_due(now=drill.started_at + timedelta(minutes=10))
    ended = services.drill_end(
        drill=drill, actor=manager, now=drill.started_at + timedelta(minutes=15)
    )
    team = DrillScore.objects.filter(drill=ended, user__isnull=True).first()
    assert team is not None

    from django.db import IntegrityError, transaction

    # When the same row is written for a drill that has no scores yet, it is kept...
    other = make_drill(actor=manager, responder=responder)
    DrillScore.objects.create(drill=other, user=None, objective=team.objective)
    # ...but a second team score for the same objective is refused by the database
    # (SQLite too, which has no NULLS NOT DISTINCT)
    with pytest.raises(IntegrityError), transaction.atomic():
        DrillScore.objects.create(drill=ended, user=None, objective=team.objective)
