"""Reads over breakdowns: lists, the preview before sending, live progress, the review."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from bounceback.api.pagination import cursor_page
from bounceback.breakdowns.models import (
    AffectedCustomer,
    Breakdown,
    BreakdownEvent,
    BreakdownMessage,
    BreakdownReview,
)
from bounceback.errors import ValidationFailed
from bounceback.outbox.models import OutboundMessage

if TYPE_CHECKING:
    from bounceback.cases.models import Case


def breakdown_list(*, status: str | None = None) -> QuerySet[Breakdown]:
    rows = Breakdown.objects.select_related("site", "playbook_version__playbook")
    if status:
        if status not in Breakdown.Status.values:
            raise ValidationFailed(
                f"status must be one of {', '.join(Breakdown.Status.values)}", field="status"
            )
        rows = rows.filter(status=status)
    return rows


@dataclass
class Preview:
    total: int
    by_state: dict[str, int]
    by_channel: dict[str, int]
    unreachable: int
    linked: int
    sample: list[AffectedCustomer]
    preview_subject: str = ""
    preview_body: str = ""
    excluded: int = 0
    to_contact: int = 0


def breakdown_preview(*, breakdown: Breakdown, sample: int = 20) -> Preview:
    """Who would be contacted, how, and what the first of them would read. Sends nothing."""
    from bounceback.breakdowns import outreach

    by_state = outreach.state_counts(breakdown)
    plan = outreach.plan_channels(breakdown)
    rows = list(
        breakdown.affected.select_related("customer", "transaction", "case").order_by("id")[
            : max(0, sample)
        ]
    )
    subject, body = "", ""
    first = next((r for r in rows if r.state == AffectedCustomer.State.PENDING), None)
    if first is not None:
        subject, body = outreach.render_first_message(breakdown, first.customer)
    pending = by_state.get(AffectedCustomer.State.PENDING, 0)
    return Preview(
        total=sum(by_state.values()),
        by_state=by_state,
        by_channel=plan.by_channel,
        unreachable=by_state.get(AffectedCustomer.State.UNREACHABLE, 0) + plan.unreachable,
        linked=by_state.get(AffectedCustomer.State.LINKED, 0),
        sample=rows,
        preview_subject=subject,
        preview_body=body,
        excluded=by_state.get(AffectedCustomer.State.EXCLUDED, 0),
        to_contact=pending - plan.unreachable + by_state.get(AffectedCustomer.State.QUEUED, 0),
    )


@dataclass
class Progress:
    affected: int
    to_contact: int
    queued: int
    sent: int
    pending: int
    held: int
    failed: int
    unreachable: int
    linked: int
    excluded: int
    percent_reached: int
    done: bool
    not_yet_processed: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    # Why the outreach is not moving although it should, or "" (see outreach_stall).
    stalled: str = ""


def breakdown_progress(*, breakdown: Breakdown) -> Progress:
    """How far the outreach has got: two grouped counts."""
    from bounceback.breakdowns import outreach

    states = outreach.state_counts(breakdown)
    batch = f"bd-{breakdown.pk}-outreach"
    # COUNT(*), not COUNT(id): counted from the (batch, state) index alone, without
    # visiting the wave's 100,000 rows on every two-second poll.
    messages = dict(
        OutboundMessage.objects.filter(batch=batch)
        .order_by()
        .values_list("state")
        .annotate(n=Count("*"))
    )
    waiting = states.get(AffectedCustomer.State.PENDING, 0)
    queued = states.get(AffectedCustomer.State.QUEUED, 0)
    sent = messages.get(OutboundMessage.State.SENT, 0)
    pending = sum(
        messages.get(s, 0)
        for s in (
            OutboundMessage.State.QUEUED,
            OutboundMessage.State.RETRYING,
            OutboundMessage.State.SENDING,
        )
    )
    held = messages.get(OutboundMessage.State.HELD, 0)
    failed = messages.get(OutboundMessage.State.FAILED, 0) + messages.get(
        OutboundMessage.State.CANCELLED, 0
    )
    # Before the outreach runs, the PENDING rows are who we will contact (the
    # channel decision may still turn some into call-list rows).
    to_contact = queued + waiting
    percent = 100 if to_contact == 0 else min(100, (sent * 100) // to_contact)
    confirmed = breakdown.confirmed_at is not None
    return Progress(
        affected=sum(states.values()),
        to_contact=to_contact,
        queued=queued,
        sent=sent,
        pending=pending + waiting,
        held=held,
        failed=failed,
        unreachable=states.get(AffectedCustomer.State.UNREACHABLE, 0),
        linked=states.get(AffectedCustomer.State.LINKED, 0),
        excluded=states.get(AffectedCustomer.State.EXCLUDED, 0),
        percent_reached=percent,
        done=confirmed and waiting == 0 and pending == 0 and held == 0,
        not_yet_processed=waiting,
        by_state=states,
        stalled=outreach_stall(breakdown=breakdown) if pending + waiting else "",
    )


# No movement for this long, while there is work due, is a stall.
STALL_AFTER = timedelta(minutes=2)


def outreach_stall(*, breakdown: Breakdown, now: datetime | None = None) -> str:
    """Why the breakdown's outreach is stuck, in a sentence for its page, or "".

    Three cheap checks, each through an index: the job contacting customers
    has stopped moving; messages fell due minutes ago and nobody sent them (no
    worker is running); the channels they go out on keep failing.
    """
    from bounceback.background.selectors import job_status
    from bounceback.breakdowns.services import outreach_job_key
    from bounceback.outbox.models import ChannelStatus
    from bounceback.outbox.services import outbox_lapsed

    if breakdown.status != Breakdown.Status.RECOVERING or breakdown.outreach_paused:
        return ""
    now = now or timezone.now()
    status = job_status(outreach_job_key(breakdown.pk))
    if status is not None and status.stalled:
        error = status.job.last_error
        return "Contacting customers has stopped moving" + (
            f" (last error: {error[:200]})" if error else "; is a worker running?"
        )
    if outbox_lapsed(batch=f"bd-{breakdown.pk}-outreach", before=now - STALL_AFTER):
        return "Messages fell due minutes ago and have not been sent; is a worker running?"
    failing = (
        ChannelStatus.objects.filter(failing_since__lte=now - STALL_AFTER)
        .order_by("failing_since")
        .first()
    )
    if failing is not None:
        return (
            f"Sending by {failing.channel} has been failing since "
            f"{timezone.localtime(failing.failing_since):%H:%M} ({failing.last_error[:200]}); "
            "messages are retried by themselves"
        )
    return ""


def breakdown_timeline(*, breakdown: Breakdown) -> list[BreakdownEvent]:
    return list(breakdown.events.select_related("actor", "token").order_by("at", "id"))


@dataclass
class ReviewFigures:
    affected: int
    reached: int
    failed: int
    unreachable: int
    replies: int
    complaints_anyway: int
    updates_sent: int
    minutes_to_outreach: int | None
    minutes_to_all_clear: int | None
    estimated_cost: Decimal
    cost_currency: str
    actual_cost: Decimal | None
    actual_cost_currency: str


def _minutes(start: Any, end: Any) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() // 60)


def breakdown_review_figures(*, breakdown: Breakdown) -> ReviewFigures:
    from bounceback.cases.models import Case
    from bounceback.interactions.models import Interaction

    progress = breakdown_progress(breakdown=breakdown)
    replies = 0
    if breakdown.confirmed_at is not None:
        replies = Interaction.objects.filter(
            case__breakdown=breakdown,
            direction=Interaction.Direction.INBOUND,
            occurred_at__gte=breakdown.confirmed_at,
        ).count()
    complaints = Case.objects.filter(breakdown=breakdown, proactive=False).count()
    updates = breakdown.messages.filter(kind=BreakdownMessage.Kind.STATUS_UPDATE).count()
    compensation = (
        breakdown.playbook_version.compensations.filter(segment="all").order_by("id").first()
    )
    currency = compensation.currency if compensation else settings.BOUNCEBACK_CURRENCY
    estimated = (compensation.amount * progress.sent) if compensation else Decimal("0.00")
    review = BreakdownReview.objects.filter(breakdown=breakdown).first()
    return ReviewFigures(
        affected=progress.affected,
        reached=progress.sent,
        failed=progress.failed,
        unreachable=progress.unreachable,
        replies=replies,
        complaints_anyway=complaints,
        updates_sent=updates,
        minutes_to_outreach=_minutes(breakdown.declared_at, breakdown.confirmed_at),
        minutes_to_all_clear=_minutes(breakdown.declared_at, breakdown.all_clear_at),
        estimated_cost=Decimal(estimated).quantize(Decimal("0.01")),
        cost_currency=currency,
        actual_cost=review.actual_cost if review else None,
        actual_cost_currency=review.cost_currency if review else currency,
    )


def affected_page(
    *, breakdown: Breakdown, state: str | None, cursor: str | None, limit: int = 50
) -> tuple[list[AffectedCustomer], str | None]:
    rows = breakdown.affected.select_related("customer", "transaction", "case", "message")
    if state:
        if state not in AffectedCustomer.State.values:
            raise ValidationFailed(
                f"state must be one of {', '.join(AffectedCustomer.State.values)}", field="state"
            )
        rows = rows.filter(state=state)
    return cursor_page(rows, cursor=cursor, limit=limit, order_field="id", descending=False)


def breakdowns_for_case(*, case: Case) -> list[Breakdown]:
    """Breakdowns a case can be linked to, those that hit its customer first.

    Each carries `suggested`: the customer is on its affected list. The
    all-clear ones are included because complaints keep arriving after it.
    """
    from django.db.models import Exists, OuterRef

    hit = AffectedCustomer.objects.filter(breakdown=OuterRef("pk"), customer_id=case.customer_id)
    rows = (
        Breakdown.objects.filter(
            status__in=[
                Breakdown.Status.DECLARED,
                Breakdown.Status.RECOVERING,
                Breakdown.Status.ALL_CLEAR,
            ]
        )
        .annotate(suggested=Exists(hit))
        .select_related("site")
        .order_by("-suggested", "-declared_at", "-id")
    )
    return list(rows[:50])


def breakdown_case_loop(*, breakdown: Breakdown) -> dict[str, int]:
    """Where the breakdown's cases stand on closing the loop, in one query."""
    from django.db.models import Count, Q

    from bounceback.cases.models import Case

    is_open = ~Q(status=Case.Status.CLOSED)
    return Case.objects.filter(breakdown=breakdown).aggregate(
        total=Count("id"),
        open=Count("id", filter=is_open),
        not_fixed=Count("id", filter=is_open & Q(fixed_at__isnull=True)),
        awaiting_follow_up=Count(
            "id", filter=is_open & Q(fixed_at__isnull=False, follow_up_sent_at__isnull=True)
        ),
        undocumented=Count("id", filter=is_open & Q(documented_at__isnull=True)),
        ready_to_close=Count(
            "id",
            filter=is_open
            & Q(
                fixed_at__isnull=False,
                follow_up_sent_at__isnull=False,
                documented_at__isnull=False,
            )
            & ~Q(status=Case.Status.WAITING),
        ),
        closed=Count("id", filter=Q(status=Case.Status.CLOSED)),
    )
