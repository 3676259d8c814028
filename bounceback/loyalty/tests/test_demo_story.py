"""The demo business tells the loyalty story: recovered customers come back, others walk away."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceback.demo.services import demo_load
from bounceback.loyalty.selectors import NOT_RECOVERED, RECOVERED_SATISFIED, loyalty_report

pytestmark = pytest.mark.django_db


def test_in_the_demo_satisfied_customers_come_back_more_than_those_not_recovered() -> None:
    now = timezone.now()
    demo_load(now=now)

    report = loyalty_report(since=now - timedelta(days=365), until=now, now=now)

    satisfied = report.cohort(RECOVERED_SATISFIED).returned[30]
    lost = report.cohort(NOT_RECOVERED).returned[30]
    assert satisfied.n >= 5 and lost.n >= 3
    assert satisfied.value is not None and lost.value is not None
    assert satisfied.value > lost.value + 0.3
