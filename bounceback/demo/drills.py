"""The demo's drills: the scenario library, a past drill with its debrief, and one ahead.

A demo script, read top to bottom like the story it tells:

- the scenario library is written from the catalog (one scenario for every
  high-risk failure mode that has a playbook);
- twelve days ago the care team practised the first of them live: Ava took the
  chronic complainer and the Spanish writer, Tom the VIP and the refund demand;
  Ava apologised quickly and kept updating, Tom was slow and never apologised
  to the refund customer. The drill ended after forty minutes, was scored and
  debriefed, and its improvement plan has an item for the playbook;
- every high-risk playbook is drilled monthly from next week; the clock opens
  each drill a week ahead, so next week's are already on the drills page.

Every step runs through the drills and case services; the case steps are
backdated like the rest of the demo's history (backdate.py). Nothing the drill
wrote left the sandbox: its messages are captured by the outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from bounceback.accounts.models import User
from bounceback.cases.models import Case
from bounceback.cases.services import case_apologise, case_send_update
from bounceback.demo.backdate import Backdater
from bounceback.drills.models import Drill, DrillInject
from bounceback.drills.services import (
    ParticipantInput,
    drill_action_done,
    drill_create,
    drill_end,
    drill_injects_run_due,
    drill_schedules_ensure_high_risk,
    drill_schedules_run_due,
    drill_start,
    drills_library_generate,
    improvement_add,
)

PAST_DAYS = 12
APOLOGY = (
    "{name}, I'm sorry: this was our failure and it spoiled your evening. I am "
    "looking into it now and will write again within 20 minutes with what we will "
    "do to put it right, and how we will stop it happening again."
)
UPDATE = "An update: our team is still on it and I will write again within 20 minutes."


def _apologise(case: Case, body: str) -> Case:
    return case_apologise(case=case, actor=case.assignee, body=body, override_reason="drill")


def _update(case: Case) -> Case:
    return case_send_update(case=case, actor=case.assignee, body=UPDATE)


def _user(username: str) -> User:
    return User.objects.get(username=username)


def load_drills(*, now: datetime) -> list[Drill]:
    """The library, a past drill (ended, scored, debriefed) and a scheduled one."""
    manager, ava, tom = _user("manager"), _user("agent"), _user("tom.becker")
    scenarios = drills_library_generate(actor=manager)
    if not scenarios:
        return []
    scenario = scenarios[0]
    start = now - timedelta(days=PAST_DAYS)
    past = drill_create(
        actor=manager,
        scenario=scenario,
        title=f"Care team practice: {scenario.playbook.name}"[:200],
        facilitator=manager,
        participants=[
            ParticipantInput(user=ava),
            ParticipantInput(user=tom),
            ParticipantInput(user=_user("lead"), role="scribe"),
        ],
    )
    past = drill_start(drill=past, actor=manager, now=start)
    drill_injects_run_due(now=start + timedelta(minutes=15))
    history = Backdater()
    injects = list(DrillInject.objects.filter(drill=past).select_related("case"))
    for inject in injects:
        case = inject.case
        if case is None or inject.delivered_at is None:
            continue
        quick = case.assignee_id == ava.pk
        if not quick and inject.persona == "refund_outside_policy":
            continue  # never apologised: the debrief says so
        at = inject.delivered_at + timedelta(minutes=4 if quick else 19)
        body = APOLOGY.format(name=inject.customer_name.split()[0])
        history.step(case, at, "apologise", partial(_apologise, case, body))
        if quick:
            history.step(case, at + timedelta(minutes=18), "update", partial(_update, case))
    for action in past.actions.order_by("position")[:2]:
        drill_action_done(action=action, actor=manager, now=start + timedelta(minutes=8))
    ended = drill_end(drill=past, actor=manager, now=start + timedelta(minutes=40))
    improvement_add(
        drill=ended,
        actor=manager,
        text="Name who takes a VIP complaint before each event night",
        kind="playbook_revision",
        owner=manager,
        due_on=(now + timedelta(days=10)).date(),
    )
    # Monthly from next week; the clock opens each drill a week ahead, as here.
    drill_schedules_ensure_high_risk(actor=manager, now=now)
    drill_schedules_run_due(now=now)
    return [ended, *Drill.objects.filter(state=Drill.State.SCHEDULED)]
