"""The demo's learning: themes over its cases, a merged duplicate, and two problem records.

A demo script, read top to bottom like the story it tells:

- every case gets its vector and the themes are computed, as the worker would;
- a customer who writes twice about the same thing has the second case merged
  into the first (the customer told once);
- the power outage of the past breakdown became a problem record whose
  corrective action (a standby generator) worked: verified fixed;
- the weather delays got a corrective action that seemed to work, was
  verified, and then the flood came back: the scheduled check reopened it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bounceback.accounts.models import User
from bounceback.cases.models import Case
from bounceback.cases.services import case_log_customer_message, case_merge, case_open
from bounceback.customers.models import Customer
from bounceback.errors import ValidationFailed
from bounceback.failuremodes.models import FailureMode
from bounceback.learning.models import Problem
from bounceback.learning.services import (
    case_texts_refresh,
    problem_action_done,
    problem_create,
    problem_update,
    problem_verify,
    problems_check,
    themes_recompute,
)


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _mode(title: str) -> FailureMode | None:
    return FailureMode.objects.filter(title=title).first()


def _complaint(customer: Customer, summary: str, text: str, manager: User, **kw: Any) -> Case:
    """A case opened with the customer's own words on its timeline, as the channels do."""
    case = case_open(customer=customer, summary=summary, description=text, actor=manager, **kw)
    case_log_customer_message(case=case, actor=manager, body=text, channel=case.channel)
    return case


def _merged_duplicate(manager: User) -> Case | None:
    """A customer wrote twice about one failure: the second case joins the first."""
    customer = (
        Customer.objects.filter(emails__isnull=False, cases__isnull=False).order_by("pk").first()
    )
    if customer is None:
        return None
    paint = _mode("Paint colour does not match")
    first = _complaint(
        customer,
        "Paint on the repaired door does not match",
        "The door you repainted is a different shade from the rest of the car.",
        manager,
        failure_mode=paint,
    )
    again = _complaint(
        customer,
        "Door colour wrong after the repair",
        "I am writing again: the repainted door does not match the colour of my car.",
        manager,
        failure_mode=paint,
    )
    try:
        case_merge(case=again, into=first, actor=manager, tell_customer=True)
    except ValidationFailed:
        # Nowhere to write to this customer: merge without the message.
        case_merge(case=again, into=first, actor=manager, tell_customer=False)
    return again


def _problem_fixed(lead: User, now: datetime) -> Problem | None:
    mode = _mode("Power outage during an event")
    if mode is None:
        return None
    problem = problem_create(
        actor=lead,
        title="Power cuts stop shows at the Grand Hall",
        failure_mode=mode,
        description="The hall's single feed failed during the spring showcase.",
        now=now - timedelta(days=120),
    )
    problem_update(
        problem=problem,
        actor=lead,
        root_cause="One mains feed and no standby supply for the stage and house lights.",
        corrective_action="Standby generator with automatic transfer; tested before every event.",
        workaround="Move the audience to the foyer, offer the rerun date and a drink on the house.",
        action_owner=_user("manager"),
        action_due=(now - timedelta(days=100)).date(),
    )
    problem_action_done(problem=problem, actor=lead, at=now - timedelta(days=100))
    return problem_verify(problem=problem, now=now)


def _problem_came_back(lead: User, manager: User, now: datetime) -> Problem | None:
    mode = _mode("Shipments delayed by weather")
    if mode is None:
        return None
    problem = problem_create(
        actor=lead,
        title="Deliveries stuck on the Lower Valley road",
        failure_mode=mode,
        now=now - timedelta(days=60),
    )
    problem_update(
        problem=problem,
        actor=lead,
        root_cause="Every delivery van takes the valley road, which floods after heavy rain.",
        corrective_action="Route vans over the ridge road whenever a flood warning is out.",
        workaround="Tell the customer the new day at once and offer collection from the depot.",
        action_owner=_user("diego.ramos"),
        action_due=(now - timedelta(days=50)).date(),
    )
    problem_action_done(problem=problem, actor=lead, at=now - timedelta(days=50))
    problem_verify(problem=problem, now=now - timedelta(days=30))
    # The flood came back and the ridge road closed too: new late deliveries.
    customers = list(
        Case.objects.filter(failure_mode=mode).values_list("customer_id", flat=True)[:3]
    )
    for i, customer_id in enumerate(customers):
        _complaint(
            Customer.objects.get(pk=customer_id),
            "Delivery stuck again: the valley road is flooded",
            "My delivery is late again, the van could not get through the flood.",
            manager,
            failure_mode=mode,
            opened_at=now - timedelta(hours=6 * (i + 1)),
        )
    problems_check(now=now)
    return problem


def load_learning(*, now: datetime) -> dict[str, int]:
    """Vectors and themes for every case, a merged duplicate and two problem records."""
    manager = _user("manager")
    lead = _user("tom.becker")
    _merged_duplicate(manager)
    _problem_fixed(lead, now)
    _problem_came_back(lead, manager, now)
    while case_texts_refresh(now=now):
        pass
    model = themes_recompute(now=now)
    return {"themes": model.cases if model else 0}
