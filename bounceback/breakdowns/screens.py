"""Read-only helpers for the breakdown pages, beside the selectors the API shares.

Each returns what one part of a page shows, in a fixed few queries, so a page's
query count does not grow with the number of breakdowns, actions or customers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet

from bounceback.breakdowns.models import (
    AffectedCustomer,
    Breakdown,
    BreakdownAction,
    BreakdownMessage,
)
from bounceback.cases.models import Case
from bounceback.outbox.models import OutboundMessage
from bounceback.playbooks import templating
from bounceback.playbooks.selectors import template_for
from bounceback.timers.models import Timer

ACTION_SUBJECT = "breakdown_action"


@dataclass(frozen=True)
class RowProgress:
    """Outreach progress as the list shows it: reached of those we message."""

    reached: int
    to_contact: int
    percent: int


def list_progress(breakdowns: Iterable[Breakdown]) -> dict[int, RowProgress]:
    """Progress for each breakdown of a page, in three queries whatever the page size."""
    ids = [b.pk for b in breakdowns]
    if not ids:
        return {}
    to_contact: dict[int, int] = defaultdict(int)
    contactable = [AffectedCustomer.State.PENDING, AffectedCustomer.State.QUEUED]
    for counted in (
        AffectedCustomer.objects.filter(breakdown_id__in=ids, state__in=contactable)
        .values("breakdown_id")
        .annotate(n=Count("*"))
        .order_by()
    ):
        to_contact[counted["breakdown_id"]] = counted["n"]
    batches = dict(
        BreakdownMessage.objects.filter(
            breakdown_id__in=ids, kind=BreakdownMessage.Kind.OUTREACH
        ).values_list("batch", "breakdown_id")
    )
    reached: dict[int, int] = defaultdict(int)
    if batches:
        for row in (
            OutboundMessage.objects.filter(
                batch__in=list(batches), state=OutboundMessage.State.SENT
            )
            .values("batch")
            .annotate(n=Count("*"))
            .order_by()
        ):
            reached[batches[row["batch"]]] += row["n"]
    found = {}
    for pk in ids:
        total = to_contact[pk]
        done = min(reached[pk], total) if total else 0
        found[pk] = RowProgress(
            reached=done, to_contact=total, percent=round(100 * done / total) if total else 0
        )
    return found


@dataclass(frozen=True)
class ActionRow:
    action: BreakdownAction
    timer: Timer | None
    overdue: bool
    late: bool


def action_rows(*, breakdown: Breakdown, now: datetime) -> list[ActionRow]:
    """The checklist with each action's timer: two queries."""
    actions = list(breakdown.actions.select_related("done_by").order_by("position", "id"))
    timers: dict[int, Timer] = {}
    if actions:
        for timer in Timer.objects.filter(
            subject_type=ACTION_SUBJECT, subject_id__in=[a.pk for a in actions]
        ).order_by("id"):
            timers[int(timer.subject_id)] = timer
    rows = []
    for action in actions:
        is_open = action.state == BreakdownAction.State.OPEN
        late = bool(action.done_at and action.done_at > action.due_at)
        rows.append(
            ActionRow(
                action=action,
                timer=timers.get(action.pk),
                overdue=is_open and now > action.due_at,
                late=late,
            )
        )
    return rows


def unreachable(*, breakdown: Breakdown, limit: int = 50) -> tuple[list[AffectedCustomer], int]:
    """The customers to phone: no deliverable address. The first `limit` and how many."""
    rows = AffectedCustomer.objects.filter(
        breakdown=breakdown, state=AffectedCustomer.State.UNREACHABLE
    )
    shown = list(
        rows.select_related("customer", "transaction").prefetch_related("customer__phones")[:limit]
    )
    count = len(shown) if len(shown) < limit else rows.count()
    return shown, count


def excluded(*, breakdown: Breakdown, limit: int = 50) -> list[AffectedCustomer]:
    return list(
        AffectedCustomer.objects.filter(
            breakdown=breakdown, state=AffectedCustomer.State.EXCLUDED
        ).select_related("customer")[:limit]
    )


def linked_cases(*, breakdown: Breakdown) -> QuerySet[Case]:
    return (
        Case.objects.filter(breakdown=breakdown)
        .select_related("customer", "assignee")
        .order_by("-created_at", "-id")
    )


def waves(*, breakdown: Breakdown) -> list[BreakdownMessage]:
    return list(breakdown.messages.select_related("sent_by").order_by("sent_at", "id"))


def template_initial(*, breakdown: Breakdown, purpose: str) -> dict[str, str]:
    """The playbook's email template for `purpose`, placeholders left in for staff to edit."""
    template = template_for(
        version=breakdown.playbook_version, purpose=purpose, channel="email", language="en"
    )
    if template is None:
        return {"subject": "", "body": ""}
    return {"subject": template.subject, "body": template.body}


def _first_customer(breakdown: Breakdown) -> AffectedCustomer | None:
    return (
        AffectedCustomer.objects.filter(breakdown=breakdown)
        .exclude(state=AffectedCustomer.State.EXCLUDED)
        .select_related("customer", "case")
        .order_by("id")
        .first()
    )


def preview_message(*, breakdown: Breakdown, subject: str, body: str) -> dict[str, Any]:
    """`subject` and `body` as the first affected customer will read them."""
    values: dict[str, str]
    first = _first_customer(breakdown)
    common = templating.breakdown_values(breakdown)
    if first is None:
        values = {**templating.SAMPLE_VALUES, **common}
        who = templating.SAMPLE_VALUES["customer.name"]
    else:
        values = templating.customer_values(
            common,
            customer_name=first.customer.name,
            case_reference=first.case.reference if first.case and first.case.reference else "",
        )
        who = first.customer.name
    return {
        "who": who,
        "subject": templating.render(subject, values),
        "body": templating.render(body, values),
        "problems": templating.template_problems(f"{subject}\n{body}"),
    }
