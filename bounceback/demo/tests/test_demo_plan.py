"""The demo plan: the same seed decides the same business whatever the day and hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bounceback.demo.generator import DemoPlan, demo_plan


def signature(plan: DemoPlan) -> tuple[list[Any], list[Any]]:
    people = [(c.key, c.name, c.emails, c.tags) for c in plan.customers]
    txns = [(t["external_id"], t["customer_external_id"], t["product"]) for t in plan.transactions]
    return people, txns


@pytest.mark.parametrize("customers", [240, 40])
def test_the_plan_does_not_move_with_the_hour_or_the_day(customers: int) -> None:
    # Given the plan made at one moment (in the US evening, before a DST change)
    start = datetime(2026, 10, 30, 0, 7, tzinfo=UTC)
    first = signature(demo_plan(seed=3, customers=customers, now=start))

    # When it is made again at other hours, across the change, and on other days
    moments = [start + timedelta(hours=h, minutes=17 * h % 60) for h in range(1, 60, 7)]
    moments += [start - timedelta(days=d, hours=5) for d in (1, 30, 31, 45, 200)]

    # Then the same people and transaction ids come back
    for moment in moments:
        assert signature(demo_plan(seed=3, customers=customers, now=moment)) == first, moment
