from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.testing.factories import CustomerFactory, TeamFactory, UserFactory
from bounceback.testing.learning_factories import past_case


def happy_case(**kwargs: Any) -> Case:
    """A closed case whose customer, Anna Berg, was satisfied, with a refund in effect."""
    team = kwargs.pop("team", None) or TeamFactory(name="Front desk")
    agent = kwargs.pop("agent", None) or UserFactory(
        role=Role.AGENT, first_name="Sam", last_name="Reyes", team=team
    )
    customer = kwargs.pop("customer", None) or CustomerFactory(name="Anna Berg")
    case = past_case(
        "Anna's room was not cleaned",
        "Nobody cleaned the room for two days.",
        fix="Sam had the room cleaned within the hour and moved Anna to a quiet floor.",
        satisfied=kwargs.pop("satisfied", True),
        will_return=True,
        comment="Thank you, anna berg will come back! Sam was wonderful.",
        gesture=Decimal("40.00"),
        actor=agent,
        customer=customer,
        **kwargs,
    )
    Case.objects.filter(pk=case.pk).update(
        assignee=agent,
        team=team,
        what_went_wrong="Housekeeping skipped Anna Berg's room two days running.",
        prevention_idea="Housekeeping checks off every occupied room on the tablet.",
        category="Housekeeping",
    )
    case.refresh_from_db()
    return case


@pytest.fixture
def case(db: None) -> Case:
    return happy_case()


@pytest.fixture
def lead(db: None) -> Any:
    return UserFactory(role=Role.LEAD, team=TeamFactory(name="Leads"))


@pytest.fixture
def staff_agent(db: None) -> Any:
    return UserFactory(role=Role.AGENT)
