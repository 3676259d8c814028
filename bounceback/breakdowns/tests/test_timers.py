from __future__ import annotations

from datetime import timedelta

import pytest

from bounceback.accounts.roles import Role
from bounceback.breakdowns.models import BreakdownAction
from bounceback.breakdowns.services import breakdown_action_complete
from bounceback.notifications.models import Notification
from bounceback.testing.breakdowns_factories import make_breakdown
from bounceback.testing.factories import UserFactory
from bounceback.timers.models import Timer
from bounceback.timers.services import timers_fire_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():  # type: ignore[no-untyped-def]
    return {role: UserFactory(role=role) for role in (Role.AGENT, Role.LEAD, Role.MANAGER)} | {
        Role.EXECUTIVE: UserFactory(role=Role.EXECUTIVE),
        "retired_lead": UserFactory(role=Role.LEAD, is_active=False),
    }


def _told(user, kind: str) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        Notification.objects.filter(recipient=user, kind=kind).values_list("title", flat=True)
    )


def _lead_action(breakdown):  # type: ignore[no-untyped-def]
    # The factory playbook's first action: a lead's, due in 5 minutes.
    return breakdown.actions.get(owner_role=Role.LEAD)


def test_a_checklist_action_warns_its_owner_role(staff):
    breakdown = make_breakdown(actor=staff[Role.LEAD])
    action = _lead_action(breakdown)

    timers_fire_due(now=breakdown.declared_at + timedelta(minutes=4))

    assert _told(staff[Role.LEAD], "breakdown_action_warning") == [
        # In the lead's own zone (the installation's, UTC, here)
        f"{breakdown.reference}: {action.title} due {action.due_at:%H:%M} UTC"
    ]
    assert not _told(staff[Role.MANAGER], "breakdown_action_warning")
    assert not _told(staff["retired_lead"], "breakdown_action_warning")


def test_a_missed_action_is_recorded_and_tells_the_owner_and_the_role_above(staff):
    breakdown = make_breakdown(actor=staff[Role.LEAD])
    action = _lead_action(breakdown)

    timers_fire_due(now=breakdown.declared_at + timedelta(minutes=6))

    event = breakdown.events.get(kind="action_breached")
    assert action.title in event.summary
    assert event.data["action_id"] == action.pk
    for role in (Role.LEAD, Role.MANAGER):
        assert _told(staff[role], "breakdown_action_breached") == [
            f"{breakdown.reference}: {action.title} overdue"
        ]
    assert not _told(staff[Role.AGENT], "breakdown_action_breached")
    assert not _told(staff[Role.EXECUTIVE], "breakdown_action_breached")


def test_a_still_missed_action_escalates_one_role_further(staff):
    breakdown = make_breakdown(actor=staff[Role.LEAD])
    action = _lead_action(breakdown)
    timers_fire_due(now=breakdown.declared_at + timedelta(minutes=6))

    # The escalation period is the target again: 5 minutes after the breach.
    timers_fire_due(now=breakdown.declared_at + timedelta(minutes=11))

    event = breakdown.events.get(kind="action_escalated")
    assert event.data == {"action_id": action.pk, "level": 2, "role": Role.EXECUTIVE}
    assert _told(staff[Role.EXECUTIVE], "breakdown_action_escalated")
    assert not _told(staff[Role.MANAGER], "breakdown_action_escalated")


def test_an_action_done_in_time_never_fires(staff):
    breakdown = make_breakdown(actor=staff[Role.LEAD])
    action = _lead_action(breakdown)
    breakdown_action_complete(action=action, actor=staff[Role.LEAD])

    timers_fire_due(now=breakdown.declared_at + timedelta(minutes=30))

    timer = Timer.objects.get(subject_type="breakdown_action", subject_id=action.pk)
    assert timer.state == Timer.State.MET
    assert not Notification.objects.filter(title__contains=action.title).exists()
    assert not breakdown.events.filter(kind="action_breached", data__action_id=action.pk)


def test_actions_closed_at_the_all_clear_stay_quiet(staff):
    breakdown = make_breakdown(actor=staff[Role.LEAD])
    # As if closed while their timers were still due to fire.
    breakdown.actions.update(state=BreakdownAction.State.CLOSED)

    timers_fire_due(now=breakdown.declared_at + timedelta(hours=2))

    assert not breakdown.events.filter(kind__startswith="action_").exists()
    assert not Notification.objects.filter(kind__startswith="breakdown_action").exists()
