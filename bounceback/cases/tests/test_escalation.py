from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.accounts.services import team_create
from bounceback.cases.models import Case
from bounceback.cases.services import case_apologise, case_open
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.timers.services import timers_fire_due

from .conftest import SINCERE

pytestmark = pytest.mark.django_db


def test_breach_goes_to_the_lead_then_the_manager() -> None:
    lead = UserFactory(role=Role.LEAD)
    team = team_create(name="Workshop", lead=lead)
    agent = UserFactory(role=Role.AGENT, team=team)
    manager = UserFactory(role=Role.MANAGER)
    case = case_open(
        customer=CustomerFactory(), summary="Car not ready", actor=agent, assignee=agent
    )
    opened = case.created_at

    timers_fire_due(now=opened + timedelta(minutes=46))  # 75% of the hour to apologise
    timers_fire_due(now=opened + timedelta(minutes=61))
    timers_fire_due(now=opened + timedelta(minutes=121))

    case.refresh_from_db()
    assert case.breach_count == 1
    assert agent.notifications.filter(kind="timer_warning").exists()
    assert agent.notifications.filter(kind="timer_breached").exists()
    assert lead.notifications.filter(kind="timer_breached").exists()
    assert manager.notifications.filter(kind="timer_escalated").exists()
    assert list(case.events.values_list("kind", flat=True)) == [
        "opened",
        "timer_breached",
        "escalated",
    ]
    assert Case.objects.breached().get() == case


def test_a_late_apology_stops_escalation_but_keeps_the_breach() -> None:
    agent = UserFactory(role=Role.AGENT)
    manager = UserFactory(role=Role.MANAGER)
    case = case_open(customer=CustomerFactory(), summary="Late", actor=agent, assignee=agent)
    timers_fire_due(now=timezone.now() + timedelta(minutes=61))

    case_apologise(case=case, actor=agent, body=SINCERE)
    timers_fire_due(now=timezone.now() + timedelta(minutes=125))

    case.refresh_from_db()
    assert case.breach_count >= 1
    assert not manager.notifications.filter(kind="timer_escalated").exists()
