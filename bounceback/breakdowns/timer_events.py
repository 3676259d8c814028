"""What a breakdown's checklist action does when its timer warns, is breached or escalates.

Runs inside the timer worker's transaction (see timers/handlers.py): only
database writes here; staff are told through notifications. The owner role is
warned; a breach tells the owner role and the next role up; each escalation
climbs one more role (accounts/roles.py ROLE_ORDER).
"""

from __future__ import annotations

from typing import Any

from bounceback.accounts.models import User
from bounceback.accounts.roles import ROLE_ORDER, Role
from bounceback.breakdowns.models import Breakdown, BreakdownAction, BreakdownEvent
from bounceback.breakdowns.timeline import record_event
from bounceback.notifications.services import notify, notify_at
from bounceback.timers.handlers import TimerEvent
from bounceback.timers.models import Timer


def role_above(role: str, steps: int = 1) -> str:
    """The role `steps` above `role`, stopping at the most senior."""
    index = ROLE_ORDER.index(Role(role)) + steps
    return ROLE_ORDER[min(index, len(ROLE_ORDER) - 1)]


def _people(*roles: str) -> list[Any]:
    return list(User.objects.filter(role__in=set(roles), is_active=True).order_by("id"))


def on_action_timer(timer: Timer, event: TimerEvent) -> None:
    action = (
        BreakdownAction.objects.select_for_update()
        .select_related("breakdown")
        .filter(pk=timer.subject_id)
        .first()
    )
    if action is None or action.state != BreakdownAction.State.OPEN:
        return
    breakdown: Breakdown = action.breakdown
    url = f"/breakdowns/{breakdown.pk}/"
    who = f"{breakdown.reference}: {action.title}"
    owner = Role(action.owner_role)
    if event == "warn":
        notify_at(
            recipients=_people(owner),
            kind="breakdown_action_warning",
            title=lambda due: f"{who} due {due}",
            at=timer.due_at,
            url=url,
        )
        return
    if event == "breach":
        above = role_above(owner)
        record_event(
            breakdown,
            kind=BreakdownEvent.Kind.ACTION_BREACHED,
            # No clock time in the text: the line's own time is shown in each reader's zone.
            summary=f"Missed: {action.title}"[:300],
            data={"action_id": action.pk, "level": 1, "roles": [owner, above]},
        )
        notify(
            recipients=_people(owner, above),
            kind="breakdown_action_breached",
            title=f"{who} overdue",
            url=url,
        )
        return
    # Level 2 is one role above the breach's, level 3 one more.
    role = role_above(owner, timer.escalation_level)
    record_event(
        breakdown,
        kind=BreakdownEvent.Kind.ACTION_ESCALATED,
        summary=f"Escalated to {Role(role).label.lower()}s: {action.title} still not done"[:300],
        data={"action_id": action.pk, "level": timer.escalation_level, "role": role},
    )
    notify(
        recipients=_people(role),
        kind="breakdown_action_escalated",
        title=f"{who} still overdue (escalated)",
        url=url,
    )
