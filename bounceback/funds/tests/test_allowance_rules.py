"""Allowances are set from above: nobody raises their own, or their own rank's."""

from __future__ import annotations

import pytest

from bounceback.accounts.roles import Role
from bounceback.errors import Forbidden
from bounceback.funds.services import allowance_override_set, allowance_policy_set
from bounceback.testing.funds_factories import staff

pytestmark = pytest.mark.django_db


def test_a_manager_sets_agents_and_leads_but_not_their_own_rank_or_themselves() -> None:
    manager = staff(Role.MANAGER)
    lead = staff(Role.LEAD)

    allowance_policy_set(
        role=Role.AGENT, actor=manager, per_case_limit="200", period="month", period_budget="2000"
    )
    allowance_override_set(user=lead, actor=manager, per_case_limit="800")

    with pytest.raises(Forbidden):
        allowance_policy_set(
            role=Role.MANAGER,
            actor=manager,
            per_case_limit="9999",
            period="month",
            period_budget="99999",
        )
    with pytest.raises(Forbidden):
        allowance_override_set(user=manager, actor=manager, per_case_limit="1000000")
    with pytest.raises(Forbidden):
        allowance_override_set(user=staff(Role.EXECUTIVE), actor=manager, per_case_limit="1")


def test_an_administrator_sets_anyones() -> None:
    admin = staff(Role.ADMIN)

    allowance_policy_set(
        role=Role.EXECUTIVE,
        actor=admin,
        per_case_limit="2500",
        period="month",
        period_budget="50000",
    )
    allowance_override_set(user=staff(Role.MANAGER), actor=admin, per_case_limit="3000")
