"""The demo plan: the same seed decides the same business whatever the day and hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bounceback.cases.models import Case
from bounceback.demo.generator import DemoPlan, demo_plan


def signature(plan: DemoPlan) -> tuple[list[Any], list[Any], list[Any]]:
    people = [(c.key, c.name, c.emails, c.tags) for c in plan.customers]
    txns = [(t["external_id"], t["customer_external_id"], t["product"]) for t in plan.transactions]
    cases = [
        (
            c.key,
            c.customer_key,
            c.transaction,
            c.summary,
            c.status,
            c.severity,
            c.assignee,
            [(s.action, s.actor, s.values.get("body")) for s in c.steps],
        )
        for c in plan.cases
    ]
    return people, txns, cases


@pytest.mark.parametrize("customers", [240, 40])
def test_the_plan_does_not_move_with_the_hour_or_the_day(customers: int) -> None:
    # Given the plan made at one moment (in the US evening, before a DST change)
    start = datetime(2026, 10, 30, 0, 7, tzinfo=UTC)
    first = signature(demo_plan(seed=3, customers=customers, now=start))

    # When it is made again at other hours, across the change, and on other days
    moments = [start + timedelta(hours=h, minutes=17 * h % 60) for h in range(1, 60, 7)]
    moments += [start - timedelta(days=d, hours=5) for d in (1, 30, 31, 45, 200)]

    # Then the same people, transaction ids and cases come back, step for step
    for moment in moments:
        assert signature(demo_plan(seed=3, customers=customers, now=moment)) == first, moment


@pytest.mark.parametrize("customers", [1, 12, 240])
def test_every_status_is_planned_with_every_step_in_the_past(customers: int) -> None:
    now = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)
    plan = demo_plan(customers=customers, now=now)

    assert {c.status for c in plan.cases} == set(Case.Status.values)
    assert 40 <= len(plan.cases) <= 80
    opened = [c.opened_at for c in plan.cases]
    assert opened == sorted(opened)  # references follow the order cases were opened in
    for case in plan.cases:
        assert case.opened_at < now
        moments = [s.at for s in case.steps]
        assert moments == sorted(moments), case.key
        assert all(case.opened_at <= m < now for m in moments), case.key
    # ...and the cases of a day still being worked are recent
    live = [c for c in plan.cases if c.status not in ("closed", "waiting", "following_up")]
    assert any(now - c.steps[-1].at < timedelta(minutes=20) for c in live if c.steps)
