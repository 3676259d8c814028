"""Loyalty after recovery: who lands in which cohort, and what counts as coming back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bounceback.cases.models import Case
from bounceback.customers.models import Customer
from bounceback.loyalty.selectors import (
    NEVER_FAILED,
    NOT_RECOVERED,
    RECOVERED_SATISFIED,
    RECOVERED_UNSATISFIED,
    Filters,
    cohort_rows,
    loyalty_report,
)
from bounceback.testing.factories import CustomerFactory, SiteFactory, TransactionFactory
from bounceback.testing.funds_factories import open_case
from bounceback.transactions.models import Transaction

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def bought(
    customer: Customer, days_from_now: float, amount: str = "100.00", **kw: object
) -> Transaction:
    return TransactionFactory(
        customer=customer,
        occurred_at=NOW + timedelta(days=days_from_now),
        amount=Decimal(amount),
        **kw,
    )


def failed(
    customer: Customer,
    *,
    days_ago: float,
    fixed: bool = True,
    satisfied: bool | None = True,
    closed: bool = True,
    **kw: object,
) -> Case:
    case = open_case(customer=customer, **kw)
    at = NOW - timedelta(days=days_ago)
    Case.objects.filter(pk=case.pk).update(
        created_at=at,
        fixed_at=at + timedelta(minutes=15) if fixed else None,
        satisfied=satisfied,
        status=Case.Status.CLOSED if closed else Case.Status.FIXING,
        closed_at=at + timedelta(days=2) if closed else None,
    )
    return case


def report(**filters: object):  # type: ignore[no-untyped-def]
    return loyalty_report(
        since=NOW - timedelta(days=365), until=NOW, filters=Filters(**filters), now=NOW
    )


def test_given_failures_ending_differently_then_each_customer_lands_in_one_cohort() -> None:
    happy, unhappy, unfixed, unanswered = (CustomerFactory() for _ in range(4))
    for customer in (happy, unhappy, unfixed, unanswered):
        bought(customer, -400)
    failed(happy, days_ago=200)
    failed(happy, days_ago=100, satisfied=False)  # a later case does not move them
    failed(unhappy, days_ago=200, satisfied=False)
    failed(unfixed, days_ago=200, fixed=False, satisfied=None)
    failed(unanswered, days_ago=200, satisfied=None)

    r = report()

    assert r.cohort(RECOVERED_SATISFIED).customers == 1
    assert r.cohort(RECOVERED_UNSATISFIED).customers == 1
    assert r.cohort(NOT_RECOVERED).customers == 2
    rows = {row.name for row in cohort_rows(r, NOT_RECOVERED)}
    assert rows == {unfixed.name, unanswered.name}


def test_return_rates_count_only_customers_watched_long_enough() -> None:
    back_soon, back_late, never_back, recent = (CustomerFactory() for _ in range(4))
    for customer in (back_soon, back_late, never_back, recent):
        bought(customer, -300)
    failed(back_soon, days_ago=150)
    bought(back_soon, -140)  # 10 days after
    failed(back_late, days_ago=150)
    bought(back_late, -90)  # 60 days after
    failed(never_back, days_ago=150)
    failed(recent, days_ago=45)  # watched 45 days: in the 30-day rate only
    bought(recent, -40)

    rate = report().cohort(RECOVERED_SATISFIED).returned

    assert (rate[30].k, rate[30].n) == (2, 4)
    assert (rate[90].k, rate[90].n) == (2, 3)
    assert (rate[180].k, rate[180].n) == (0, 0)
    assert rate[180].value is None


def test_the_transaction_that_failed_is_not_a_return() -> None:
    customer = CustomerFactory()
    bought(customer, -300)
    booking = bought(customer, -90)  # booked before, delivered late: the failure
    case = failed(customer, days_ago=100)
    Case.objects.filter(pk=case.pk).update(transaction=booking)

    rate = report().cohort(RECOVERED_SATISFIED).returned

    assert (rate[30].k, rate[30].n) == (0, 1)


def test_given_a_young_open_case_then_it_is_too_early_to_tell() -> None:
    customer = CustomerFactory()
    bought(customer, -100)
    failed(customer, days_ago=5, fixed=False, satisfied=None, closed=False)

    r = report()

    assert r.too_early == 1
    assert sum(c.customers for c in r.cohorts) == 0


def test_never_failed_customers_are_matched_on_tenure_and_spend_and_watched_from_the_same_day() -> (
    None
):
    # Given a loyal big spender who failed, and two who never did: one like
    # them, one who bought once, cheaply, long ago.
    failing, alike, unlike = CustomerFactory(), CustomerFactory(), CustomerFactory()
    for customer in (failing, alike):
        for day in range(-400, -100, 20):
            bought(customer, day, "300.00")
    bought(unlike, -390, "5.00")
    failed(failing, days_ago=100)
    bought(alike, -95)

    r = report()

    controls = cohort_rows(r, NEVER_FAILED)
    assert [c.name for c in controls] == [alike.name]
    assert controls[0].since == NOW - timedelta(days=100)
    assert controls[0].returned_at == NOW - timedelta(days=95)


def test_filters_keep_only_failures_at_the_site() -> None:
    hall, depot = SiteFactory(code="hall"), SiteFactory(code="depot")
    here, there = CustomerFactory(), CustomerFactory()
    bought(here, -300)
    bought(there, -300)
    failed(here, days_ago=100, site=hall)
    failed(there, days_ago=100, site=depot)

    r = report(site="hall")

    assert [row.name for row in cohort_rows(r, RECOVERED_SATISFIED)] == [here.name]


def test_money_counts_gestures_and_what_unhappy_customers_spent() -> None:
    unhappy = CustomerFactory()
    bought(unhappy, -150, "80.00")
    bought(unhappy, -120, "40.00")
    failed(unhappy, days_ago=100, satisfied=False)

    money = report().money

    assert money.customers_at_risk == 1
    assert money.revenue_at_risk == Decimal("120.00")
    assert money.currency == "USD"


def test_other_currencies_are_left_out() -> None:
    customer = CustomerFactory()
    bought(customer, -300)
    failed(customer, days_ago=100)
    bought(customer, -90, currency="EUR")

    rate = report().cohort(RECOVERED_SATISFIED).returned

    assert (rate[30].k, rate[30].n) == (0, 1)
