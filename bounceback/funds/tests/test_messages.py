"""Recovery-fund messages say the real reason, in our own words, with correct grammar."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.cases.services import case_open
from bounceback.funds import services
from bounceback.funds.models import Grant
from bounceback.funds.ui_selectors import grant_outcome
from bounceback.testing.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _case(actor: Any) -> Case:
    return case_open(customer=CustomerFactory(), summary="Show cancelled", actor=actor)


def _grant(case: Case, actor: Any, value: str) -> Grant:
    return services.grant_create(
        case=case, actor=actor, kind="refund", value=Decimal(value), reason="Show cancelled"
    )


@pytest.fixture
def agent() -> Any:
    return UserFactory(role=Role.AGENT, first_name="Ava")


def test_a_pending_request_is_named_as_what_counts_against_the_per_case_limit(agent) -> None:  # type: ignore[no-untyped-def]
    case = _case(agent)
    _grant(case, agent, "400.00")  # waits for approval

    second = _grant(case, agent, "20.00")

    why = second.approval.why
    assert "400.00 USD still waiting for approval on this case" in why
    assert "it would take you to 420.00 USD, over your per-case limit of 150.00 USD" in why
    outcome = grant_outcome(second)
    assert "is above your allowance" not in outcome
    assert outcome.startswith("Sent for approval to a team lead")
    assert "needs approval because with 400.00 USD still waiting" in outcome


def test_an_executive_level_gets_an_not_a(agent) -> None:  # type: ignore[no-untyped-def]
    grant = _grant(_case(agent), agent, "100000.00")
    outcome = grant_outcome(grant)
    assert " a executive" not in outcome and " a administrator" not in outcome


def test_bad_amounts_get_our_words_not_the_frameworks(agent) -> None:  # type: ignore[no-untyped-def]
    case = _case(agent)
    client = _client(agent)
    for value, said in (
        ("12.345", "Use at most two decimal places, such as 25.50."),
        ("twelve", "Enter an amount, such as 25 or 25.50."),
        ("0", "The value must be at least 0.01."),
    ):
        page = client.post(
            f"/funds/cases/{case.pk}/grant/",
            {"kind": "refund", "value": value, "reason": "Late"},
            follow=True,
        ).content.decode()
        assert said in page, value
        assert "Ensure" not in page


def test_the_case_shows_who_reduced_a_gesture(agent) -> None:  # type: ignore[no-untyped-def]
    lead = UserFactory(role=Role.LEAD, first_name="Leah", last_name="Stone")
    case = _case(agent)
    grant = _grant(case, agent, "400.00")
    services.approval_decide(
        request=grant.approval, actor=lead, decision="reduce", value="100.00", reason="Half"
    )

    page = _client(agent).get(f"/cases/{case.pk}/").content.decode()

    assert "Reduced from" in page and "by Leah Stone" in page
