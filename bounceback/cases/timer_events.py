"""What happens when a case's timer warns, is breached or escalates.

Runs inside the timer worker's transaction (see timers/handlers.py): only
database writes here; staff are told through notifications.
"""

from __future__ import annotations

from typing import Any

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.cases.models import Case, CaseEvent
from bounceback.cases.timeline import case_event_record
from bounceback.notifications.services import notify, notify_at
from bounceback.timers.handlers import TimerEvent
from bounceback.timers.models import Timer

STEP_NAMES = {
    "apologise": "apology",
    "fix": "fix or first progress update",
    "update": "progress update",
    "follow_up": "follow-up",
    "document": "documentation",
}


def leads_for(case: Case) -> list[Any]:
    """Who leads the people on this case: its team's lead, else the team's leads, else all leads."""
    team = case.team or (case.assignee.team if case.assignee else None)
    if team is not None and team.lead is not None:
        return [team.lead]
    leads = User.objects.filter(role=Role.LEAD, is_active=True)
    if team is not None:
        in_team = list(leads.filter(team=team))
        if in_team:
            return in_team
    return list(leads)


def _role(role: str) -> list[Any]:
    return list(User.objects.filter(role=role, is_active=True))


def on_case_timer(timer: Timer, event: TimerEvent) -> None:
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("customer", "assignee__team", "team__lead")
        .filter(pk=timer.subject_id)
        .first()
    )
    if case is None:
        return
    step = STEP_NAMES.get(timer.kind, timer.kind)
    url = f"/cases/{case.pk}/"
    who = f"{case.reference} ({case.customer.name})"
    if event == "warn":
        recipients = [case.assignee] if case.assignee else leads_for(case)
        if timer.kind == "follow_up":
            notify(
                recipients=recipients,
                kind="timer_warning",
                title=f"{who}: the cool-off is over, time to follow up",
                url=url,
            )
        else:
            notify_at(
                recipients=recipients,
                kind="timer_warning",
                title=lambda due: f"{who}: {step} due {due}",
                at=timer.due_at,
                url=url,
            )
        return
    if event == "breach":
        case.breach_count += 1
        case.save(update_fields=["breach_count", "updated_at"])
        case_event_record(
            case,
            kind=CaseEvent.Kind.TIMER_BREACHED,
            # No clock time in the text: the line's own time is shown in each reader's zone.
            summary=f"The {step} target was missed",
            data={"timer": timer.kind, "due_at": timer.due_at.isoformat(), "level": 1},
            webhook_data={"target": {"step": timer.kind, "due_at": timer.due_at.isoformat()}},
        )
        recipients = [case.assignee, *leads_for(case)]
        notify(
            recipients=recipients, kind="timer_breached", title=f"{who}: {step} overdue", url=url
        )
        return
    # Escalation: still breached a period later; level 2 reaches managers, 3 executives.
    role = Role.MANAGER if timer.escalation_level == 2 else Role.EXECUTIVE
    case_event_record(
        case,
        kind=CaseEvent.Kind.ESCALATED,
        summary=f"Escalated to {Role(role).label.lower()}s: {step} still overdue",
        data={"timer": timer.kind, "level": timer.escalation_level},
    )
    notify(
        recipients=_role(role),
        kind="timer_escalated",
        title=f"{who}: {step} still overdue (escalated)",
        url=url,
    )
