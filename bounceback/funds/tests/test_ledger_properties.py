"""Property tests: any sequence of grants, decisions and reversals keeps the ledger right."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bounceback.accounts.roles import Role
from bounceback.errors import ServiceError
from bounceback.funds.models import ApprovalRequest, Grant, LedgerEntry
from bounceback.funds.selectors import allowance_for
from bounceback.funds.services import approval_decide, grant_create, grant_reverse
from bounceback.testing.funds_factories import open_case, set_policy, staff

pytestmark = pytest.mark.django_db

BUDGET = Decimal("300.00")

amounts = st.integers(min_value=1, max_value=16000).map(lambda c: Decimal(c) / 100)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.integers(0, 2), amounts),
        st.tuples(st.just("approve"), st.integers(0, 9), st.just(Decimal(0))),
        st.tuples(st.just("reduce"), st.integers(0, 9), amounts),
        st.tuples(st.just("refuse"), st.integers(0, 9), st.just(Decimal(0))),
        st.tuples(st.just("reverse"), st.integers(0, 9), st.just(Decimal(0))),
    ),
    min_size=1,
    max_size=14,
)


def _nth(rows: list, index: int):  # type: ignore[no-untyped-def,type-arg]
    return rows[index % len(rows)] if rows else None


def _run(step: tuple[str, int, Decimal], people: dict, cases: list) -> None:  # type: ignore[type-arg]
    action, index, amount = step
    if action == "grant":
        grant_create(
            case=cases[index], actor=people["agent"], kind="credit", value=amount, reason="Late"
        )
        return
    if action == "reverse":
        grant = _nth(list(Grant.objects.filter(state="granted").order_by("id")), index)
        if grant is not None:
            grant_reverse(grant=grant, actor=people["manager"], reason="Mistake")
        return
    request = _nth(list(ApprovalRequest.objects.filter(state="pending").order_by("id")), index)
    if request is None:
        return
    approver = people["executive"]
    if action == "approve":
        approval_decide(request=request, actor=approver, decision="approve")
    elif action == "refuse":
        approval_decide(request=request, actor=approver, decision="refuse", reason="No")
    else:
        approval_decide(
            request=request, actor=approver, decision="reduce", value=amount, reason="Less"
        )


def _check(agent) -> None:  # type: ignore[no-untyped-def]
    ledger = LedgerEntry.objects.filter(person=agent).aggregate(total=Sum("amount"))["total"]
    ledger = (ledger or Decimal(0)).quantize(Decimal("0.01"))
    spent = allowance_for(user=agent).spent_this_period
    assert spent == ledger
    in_effect = sum((g.value for g in Grant.objects.filter(state="granted")), Decimal("0.00"))
    assert spent == in_effect
    at_once = sum(
        (g.value for g in Grant.objects.filter(state="granted", approval__isnull=True)),
        Decimal("0.00"),
    )
    assert at_once <= BUDGET


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_given_any_sequence_of_steps_then_spent_equals_the_ledger_and_stays_in_budget(
    steps: list[tuple[str, int, Decimal]],
) -> None:
    with transaction.atomic():
        set_policy(Role.AGENT, per_case="150", budget=BUDGET)
        people = {
            "agent": staff(Role.AGENT),
            "manager": staff(Role.MANAGER),
            "executive": staff(Role.EXECUTIVE),
        }
        cases = [open_case() for _ in range(3)]
        for step in steps:
            try:
                with transaction.atomic():
                    _run(step, people, cases)
            except ServiceError:
                pass  # a refused step (a reduction not below the ask, say) changes nothing
            _check(people["agent"])
        transaction.set_rollback(True)
