"""Cases, people and allowances for the recovery-fund tests, built through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.cases.services import case_open
from bounceback.funds.models import AllowancePolicy, Period
from bounceback.testing.factories import CustomerFactory, UserFactory


def open_case(**kwargs: Any) -> Case:
    """An open case for a customer with an email address (so messages can go out)."""
    customer: Any = kwargs.pop("customer", None) or CustomerFactory()
    return case_open(
        customer=customer,
        summary=kwargs.pop("summary", "Parcel arrived broken"),
        actor=kwargs.pop("actor", None),
        **kwargs,
    )


def set_policy(
    role: str,
    *,
    per_case: str | Decimal,
    budget: str | Decimal,
    period: str = Period.MONTH,
) -> AllowancePolicy:
    """Write a role's policy directly: test set-up, not the behaviour under test."""
    policy, _ = AllowancePolicy.objects.update_or_create(
        role=role,
        defaults={
            "per_case_limit": Decimal(per_case),
            "period_budget": Decimal(budget),
            "period": period,
        },
    )
    return policy


def staff(role: str = Role.AGENT, **kwargs: Any) -> Any:
    return UserFactory(role=role, **kwargs)
