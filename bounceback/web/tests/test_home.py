"""The home fits the role: an agent's urgent cases, a lead's queues, managers' figures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.cases.services import case_open
from bounceback.funds.services import grant_create
from bounceback.testing.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_an_agent_sees_their_overdue_and_due_soon_cases(agent) -> None:  # type: ignore[no-untyped-def]
    late = case_open(
        customer=CustomerFactory(),
        summary="Late one",
        actor=agent,
        assignee=agent,
        opened_at=timezone.now() - timedelta(hours=3),
    )
    soon = case_open(customer=CustomerFactory(), summary="Fresh one", actor=agent, assignee=agent)
    case_open(customer=CustomerFactory(), summary="Someone else's", actor=agent)

    response = _client(agent).get("/")

    home = response.context["role_home"]
    assert [line.case.pk for line in home.overdue] == [late.pk]
    assert [line.case.pk for line in home.due_soon] == [soon.pk]
    page = response.content.decode()
    assert "Your overdue cases" in page and "Someone else" not in page
    assert "Approvals waiting" not in page


def test_a_lead_sees_approvals_breaches_and_unassigned(agent) -> None:  # type: ignore[no-untyped-def]
    lead = UserFactory(role=Role.LEAD)
    case = case_open(customer=CustomerFactory(), summary="Nobody on it", actor=agent)
    grant_create(case=case, actor=agent, kind="refund", value=Decimal("400"), reason="Cancelled")

    response = _client(lead).get("/")

    home = response.context["role_home"]
    assert home.approvals_count == 1
    assert [c.pk for c in home.unassigned] == [case.pk]
    page = response.content.decode()
    assert "Approvals waiting" in page and "Unassigned" in page and "Targets missed" in page


def test_a_manager_sees_the_recovery_figures(agent) -> None:  # type: ignore[no-untyped-def]
    case_open(customer=CustomerFactory(), summary="One", actor=agent)
    manager = UserFactory(role=Role.MANAGER)

    response = _client(manager).get("/")

    figures = response.context["role_home"].figures
    assert figures["opened"] == 1 and figures["open_now"] == 1
    assert "Walked away happy" in response.content.decode()


def test_the_home_queries_do_not_grow_with_cases(agent, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    manager = UserFactory(role=Role.MANAGER)
    for n in range(12):
        case_open(customer=CustomerFactory(), summary=f"Case {n}", actor=agent, assignee=manager)
    client = _client(manager)
    # 30 before the dashboard tiles (issue 17): a query or two per tile, and the filters' choices.
    with django_assert_max_num_queries(40) as first:
        client.get("/")
    for n in range(12):
        case_open(customer=CustomerFactory(), summary=f"More {n}", actor=agent, assignee=manager)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get("/")
