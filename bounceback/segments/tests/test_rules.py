"""Rules: validation messages and the set-based evaluator, field by field."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bounceback.cases.models import Case, CaseEvent
from bounceback.errors import ValidationFailed
from bounceback.segments.rules import customers_matching, rule_describe, rules_clean
from bounceback.testing.factories import CustomerFactory, TransactionFactory
from bounceback.transactions.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("rules", "message", "field"),
    [
        ([], "add at least one rule", "rules"),
        ("[{", "rules are not valid JSON", "rules"),
        ({"field": "tag"}, "rules must be a list of conditions", "rules"),
        (
            [{"field": "height", "op": ">=", "value": 1}],
            "rules[0].field must be one of",
            "rules[0].field",
        ),
        (
            [
                {"field": "tag", "op": "has", "value": "vip"},
                {"field": "tag", "op": ">=", "value": "x"},
            ],
            "rules[1].op must be one of has for tag",
            "rules[1].op",
        ),
        (
            [
                {"field": "tag", "op": "has", "value": "a"},
                {"field": "tag", "op": "has", "value": "b"},
                {"field": "lifetime_value", "op": ">=", "value": "lots"},
            ],
            "rules[2].value must be a number",
            "rules[2].value",
        ),
        (
            [{"field": "transactions", "op": ">=", "value": 2.5}],
            "rules[0].value must be a whole number",
            "rules[0].value",
        ),
        (
            [{"field": "satisfaction", "op": ">=", "value": 150}],
            "percentage from 0 to 100",
            "rules[0].value",
        ),
        (
            [{"field": "satisfaction", "op": "=", "value": "meh"}],
            "must be unhappy or happy",
            "rules[0].value",
        ),
        (
            [{"field": "tenure_days", "op": "<=", "value": -3}],
            "must not be negative",
            "rules[0].value",
        ),
        (
            [{"field": "tag", "op": "has", "value": ""}],
            "rules[0].value is required",
            "rules[0].value",
        ),
        (
            [{"field": "transactions", "op": ">=", "value": 3, "months": 0}],
            "months must be a whole number from 1",
            "rules[0].months",
        ),
        (
            [{"field": "tag", "op": "has", "value": "x", "months": 3}],
            "months only applies to",
            "rules[0].months",
        ),
        (
            [{"field": "tag", "op": "has", "value": "x", "colour": 3}],
            "unknown key 'colour'",
            "rules[0].colour",
        ),
    ],
)
def test_given_bad_rules_when_cleaned_then_the_message_names_the_rule_and_field(
    rules: object, message: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        rules_clean(rules)
    assert message in caught.value.message
    assert caught.value.field == field


def test_given_loose_input_when_cleaned_then_rules_are_normalised() -> None:
    clean = rules_clean(
        '[{"field": "lifetime_value", "op": ">=", "value": "1000"},'
        ' {"field": "transactions", "op": ">=", "value": "4", "months": "12"},'
        ' {"field": "satisfaction", "op": "=", "value": " Unhappy "}]'
    )
    assert clean == [
        {"field": "lifetime_value", "op": ">=", "value": "1000.00"},
        {"field": "transactions", "op": ">=", "value": 4, "months": 12},
        {"field": "satisfaction", "op": "=", "value": "unhappy"},
    ]
    assert rule_describe(clean[1]) == "transactions in 12 months >= 4"


def _matching(*rules: dict[str, object]) -> set[str]:
    return set(customers_matching(rules_clean(list(rules))).values_list("name", flat=True))


def _case(customer: object, *, days_ago: int = 1, answers: tuple[bool, ...] = ()) -> Case:
    case = Case.objects.create(
        customer=customer, summary="x", created_at=timezone.now() - timedelta(days=days_ago)
    )
    for index, satisfied in enumerate(answers):
        CaseEvent.objects.create(
            case=case,
            kind="follow_up_recorded",
            summary="answer",
            data={"satisfied": satisfied, "will_return": None},
            at=timezone.now() - timedelta(days=days_ago) + timedelta(hours=index + 1),
        )
    return case


def test_given_customers_when_matching_by_value_and_tag_then_only_the_right_ones_match() -> None:
    CustomerFactory(name="rich", lifetime_value=Decimal("5000.00"), tags=["vip", "old-school"])
    CustomerFactory(name="modest", lifetime_value=Decimal("100.00"), tags=["VIP"])
    CustomerFactory(name="lapsed", lifetime_value=Decimal("999.99"), tags=["vip-lapsed"])

    assert _matching({"field": "lifetime_value", "op": ">=", "value": 1000}) == {"rich"}
    assert _matching({"field": "lifetime_value", "op": "<=", "value": "999.99"}) == {
        "modest",
        "lapsed",
    }
    assert _matching({"field": "lifetime_value", "op": "=", "value": 100}) == {"modest"}
    assert _matching({"field": "tag", "op": "has", "value": "vip"}) == {"rich"}
    assert (
        _matching(
            {"field": "tag", "op": "has", "value": "vip"},
            {"field": "lifetime_value", "op": "<=", "value": 10},
        )
        == set()
    )


def test_given_transactions_when_counting_then_only_kept_ones_in_the_window_count() -> None:
    now = timezone.now()
    busy = CustomerFactory(name="busy")
    for days in (10, 40, 400):
        TransactionFactory(customer=busy, occurred_at=now - timedelta(days=days))
    TransactionFactory(customer=busy, status=Transaction.Status.CANCELLED)
    once = CustomerFactory(name="once")
    TransactionFactory(customer=once)
    CustomerFactory(name="never")

    assert _matching({"field": "transactions", "op": ">=", "value": 3}) == {"busy"}
    assert _matching({"field": "transactions", "op": ">=", "value": 2, "months": 12}) == {"busy"}
    assert _matching({"field": "transactions", "op": "<=", "value": 1, "months": 12}) == {
        "once",
        "never",
    }
    assert _matching({"field": "transactions", "op": "=", "value": 0}) == {"never"}


def test_given_cases_when_matching_recent_cases_then_old_cases_do_not_count() -> None:
    chronic = CustomerFactory(name="chronic")
    for days in (5, 30, 60, 90):
        _case(chronic, days_ago=days)
    old = CustomerFactory(name="old")
    for days in (5, 400, 500, 600):
        _case(old, days_ago=days)

    assert _matching({"field": "cases_recent", "op": ">=", "value": 4, "months": 6}) == {"chronic"}
    assert _matching({"field": "cases_recent", "op": ">=", "value": 1}) == {"chronic", "old"}
    assert _matching({"field": "cases_recent", "op": "=", "value": 1, "months": 6}) == {"old"}


def test_given_follow_up_answers_when_matching_satisfaction_then_share_and_last_answer_count() -> (
    None
):
    grumpy = CustomerFactory(name="grumpy")
    _case(grumpy, answers=(False, False, True))  # 67% unhappy, last happy
    turned = CustomerFactory(name="turned")
    _case(turned, days_ago=3, answers=(True,))
    _case(turned, days_ago=1, answers=(False,))  # 50% unhappy, last unhappy
    CustomerFactory(name="silent")

    assert _matching({"field": "satisfaction", "op": ">=", "value": 60}) == {"grumpy"}
    assert _matching({"field": "satisfaction", "op": ">=", "value": 50}) == {"grumpy", "turned"}
    assert _matching({"field": "satisfaction", "op": "<=", "value": 50}) == {"turned"}
    assert _matching({"field": "satisfaction", "op": "=", "value": "unhappy"}) == {"turned"}
    assert _matching({"field": "satisfaction", "op": "=", "value": "happy"}) == {"grumpy"}


def test_given_first_transactions_when_matching_tenure_then_the_earliest_date_counts() -> None:
    now = timezone.now()
    CustomerFactory(name="newcomer")
    veteran = CustomerFactory(name="veteran")
    TransactionFactory(customer=veteran, occurred_at=now - timedelta(days=800))

    assert _matching({"field": "tenure_days", "op": "<=", "value": 89}) == {"newcomer"}
    assert _matching({"field": "tenure_days", "op": ">=", "value": 365}) == {"veteran"}
    assert _matching({"field": "tenure_days", "op": "=", "value": 800}) == {"veteran"}
