"""Parallel grants by one person near their budget (PostgreSQL: real row locks)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from bounceback.accounts.roles import Role
from bounceback.funds.models import Grant, LedgerEntry
from bounceback.funds.selectors import allowance_for
from bounceback.funds.services import grant_create
from bounceback.testing.funds_factories import open_case, set_policy, staff

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL row locks",
    ),
]

THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_given_parallel_grants_near_the_budget_then_only_what_fits_is_granted_at_once() -> None:
    # Given an agent with 100 left this month and eight cases
    set_policy(Role.AGENT, per_case="100", budget="100")
    agent = staff(Role.AGENT)
    staff(Role.LEAD)
    cases = [open_case() for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def grant(case) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=30)
            grant_create(case=case, actor=agent, kind="refund", value="30.00", reason="Late")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    # When eight grants of 30 run at the same moment, each on its own connection
    threads = [threading.Thread(target=grant, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then three fit (90 of 100), the other five wait for approval, and the
    # balance equals the ledger
    assert errors == []
    assert Grant.objects.filter(state=Grant.State.GRANTED).count() == 3
    assert Grant.objects.filter(state=Grant.State.PENDING).count() == THREADS - 3
    ledger = LedgerEntry.objects.filter(person=agent).aggregate(total=Sum("amount"))["total"]
    assert ledger == Decimal("90.00")
    assert allowance_for(user=agent).spent_this_period == ledger
