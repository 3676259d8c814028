"""Declaring a breakdown, reaching everyone it hits, and recovering from it.

Rules for callers:
- Every change to a breakdown goes through a function here. Each locks the
  breakdown row first, checks the step is allowed (Conflict with the reason
  when not), writes, and records a BreakdownEvent, in one transaction.
- Messages to thousands of customers are written set-based by
  breakdowns/outreach.py; the outreach itself runs in chunks
  (`breakdown_outreach_run`) so a crash resumes where it stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.breakdowns import outreach
from bounceback.breakdowns.models import (
    AffectedCustomer,
    Breakdown,
    BreakdownAction,
    BreakdownMessage,
    BreakdownReview,
    ReviewActionItem,
)
from bounceback.breakdowns.timeline import record_event
from bounceback.cases.models import Case, CaseBulkRun, Severity
from bounceback.cases.services import (
    BulkAction,
    BulkOutcome,
    bulk_message_problems,
    case_join_breakdown,
    case_leave_breakdown,
    cases_bulk_request,
)
from bounceback.customers.models import Customer
from bounceback.errors import Conflict, ValidationFailed
from bounceback.inputs import datetime_in_range, text_field
from bounceback.playbooks.models import Playbook, TemplatePurpose
from bounceback.playbooks.templating import template_problems
from bounceback.sites.models import Site
from bounceback.timers.models import Timer
from bounceback.timers.services import timer_cancel, timer_meet, timer_start
from bounceback.transactions.models import Transaction
from bounceback.webhooks.events import breakdown_payload, webhook_publish

if TYPE_CHECKING:
    from bounceback.accounts.models import User
    from bounceback.background.models import Job
    from bounceback.failuremodes.models import FailureMode, Touchpoint

SUBJECT = "breakdown_action"
TIMER_KIND = "checklist"
FILTER_KEYS = {"kind", "status", "attributes"}


# --- Helpers --------------------------------------------------------------------------


def _lock(breakdown: Breakdown | int) -> Breakdown:
    pk = breakdown if isinstance(breakdown, int) else breakdown.pk
    return (
        Breakdown.objects.select_for_update(of=("self",))
        .select_related("site", "playbook_version__playbook")
        .get(pk=pk)
    )


def _refuse(message: str, field: str | None = None) -> Conflict:
    return Conflict(message, field=field, code="invalid_transition")


def _require(breakdown: Breakdown, *statuses: str, doing: str) -> None:
    if breakdown.status not in statuses:
        allowed = " or ".join(Breakdown.Status(s).label.lower() for s in statuses)
        raise _refuse(
            f"{breakdown.reference} is {breakdown.get_status_display().lower()}; "
            f"{doing} only while it is {allowed}"
        )


def _placeholders_ok(text: str, field: str) -> None:
    problems = template_problems(text)
    if problems:
        raise ValidationFailed(problems[0], field=field)


def _clean_filter(value: dict[str, Any] | None) -> dict[str, Any]:
    """The transaction filter as stored: known keys only, lists of known values."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed("transaction_filter must be an object", field="transaction_filter")
    unknown = sorted(set(value) - FILTER_KEYS)
    if unknown:
        raise ValidationFailed(
            f"unknown filter {unknown[0]!r}; use kind, status or attributes",
            field=f"transaction_filter.{unknown[0]}",
        )
    clean: dict[str, Any] = {}
    for key, choices in (("kind", Transaction.Kind.values), ("status", Transaction.Status.values)):
        if key not in value or value[key] in (None, [], ""):
            continue
        items = value[key]
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValidationFailed(
                f"{key} must be a list of {key}s", field=f"transaction_filter.{key}"
            )
        bad = [i for i in items if i not in choices]
        if bad:
            raise ValidationFailed(
                f"unknown {key} {bad[0]!r}; use one of {', '.join(choices)}",
                field=f"transaction_filter.{key}",
            )
        clean[key] = sorted(set(items))
    attributes = value.get("attributes")
    if attributes not in (None, {}):
        if not isinstance(attributes, dict) or not all(
            isinstance(k, str) and k.strip() and isinstance(v, str | int | float | bool)
            for k, v in attributes.items()
        ):
            raise ValidationFailed(
                'attributes must map names to plain values, e.g. {"depot": "North"}',
                field="transaction_filter.attributes",
            )
        clean["attributes"] = dict(attributes)
    return clean


def _clean_scope(
    *,
    window_start: datetime,
    window_end: datetime | None,
    site: Site | None,
    product: str,
    transaction_filter: dict[str, Any] | None,
    customer_ids: list[int] | None,
) -> dict[str, Any]:
    if window_start is None or timezone.is_naive(window_start):
        raise ValidationFailed(
            "window_start needs a date, time and time zone", field="window_start"
        )
    datetime_in_range(window_start, field="window_start")
    if window_end is not None:
        if timezone.is_naive(window_end):
            raise ValidationFailed("window_end needs a time zone", field="window_end")
        datetime_in_range(window_end, field="window_end")
        if window_end <= window_start:
            raise ValidationFailed("the window must end after it starts", field="window_end")
    product = (product or "").strip()
    if len(product) > 200:
        raise ValidationFailed("product is longer than 200 characters", field="product")
    clean_filter = _clean_filter(transaction_filter)
    ids: list[int] = []
    if customer_ids:
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in customer_ids):
            raise ValidationFailed("customer_ids must be ids", field="customer_ids")
        ids = sorted(set(customer_ids))
        found = set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationFailed(f"no customer with id {missing[0]}", field="customer_ids")
    if site is None and not product and not clean_filter and not ids:
        raise ValidationFailed(
            "say who is affected: a site, a product, a transaction filter or customers",
            field="site",
        )
    return {
        "window_start": window_start,
        "window_end": window_end,
        "site": site,
        "product": product,
        "transaction_filter": clean_filter,
        "customer_ids": ids,
    }


def _apply_scope(breakdown: Breakdown, scope: dict[str, Any]) -> None:
    breakdown.window_start = scope["window_start"]
    breakdown.window_end = scope["window_end"]
    breakdown.site = scope["site"]
    breakdown.product = scope["product"]
    filter_ = dict(scope["transaction_filter"])
    if scope["customer_ids"]:
        # Kept with the filter so a rescope or a reload knows who was named.
        filter_["customer_ids"] = scope["customer_ids"]
    breakdown.transaction_filter = filter_


def _scope_summary(breakdown: Breakdown) -> dict[str, Any]:
    return {
        "site": breakdown.site.code if breakdown.site else None,
        "window_start": breakdown.window_start.isoformat(),
        "window_end": breakdown.window_end.isoformat() if breakdown.window_end else None,
        "product": breakdown.product,
        "transaction_filter": breakdown.transaction_filter,
    }


def _refind(breakdown: Breakdown) -> int:
    """Rewrite the affected rows from the scope; staff exclusions survive a rescope."""
    excluded = set(
        breakdown.affected.filter(state=AffectedCustomer.State.EXCLUDED).values_list(
            "customer_id", flat=True
        )
    )
    breakdown.affected.all().delete()
    outreach.find_affected(breakdown)
    if excluded:
        breakdown.affected.filter(customer_id__in=excluded).update(
            state=AffectedCustomer.State.EXCLUDED, case=None
        )
    count = breakdown.affected.count()
    breakdown.affected_count = count
    breakdown.save(update_fields=["affected_count", "updated_at"])
    return count


def _batch(breakdown: Breakdown, name: str) -> str:
    return f"bd-{breakdown.pk}-{name}"


def _batches(breakdown: Breakdown) -> list[str]:
    return list(breakdown.messages.values_list("batch", flat=True))


# --- Declaring ------------------------------------------------------------------------------


# Long on purpose: all of the scope is checked before the breakdown, its checklist
# timers and the affected customers are written in one transaction.
@transaction.atomic
def breakdown_declare(
    *,
    actor: ActorLike,
    playbook: Playbook,
    title: str,
    window_start: datetime,
    severity: str = "high",
    description: str = "",
    site: Site | None = None,
    window_end: datetime | None = None,
    product: str = "",
    transaction_filter: dict[str, Any] | None = None,
    customer_ids: list[int] | None = None,
    source: str = "staff",
) -> Breakdown:
    """Declare the breakdown: checklist with timers, affected customers found, nothing sent."""
    title = text_field(title, field="title", max_length=200, required=True)
    description = text_field(description, field="description")
    if severity not in Severity.values:
        raise ValidationFailed(
            f"severity must be one of {', '.join(Severity.values)}", field="severity"
        )
    if source not in Breakdown.Source.values:
        raise ValidationFailed(
            f"source must be one of {', '.join(Breakdown.Source.values)}", field="source"
        )
    if playbook.archived:
        raise ValidationFailed(f"the playbook {playbook.name!r} is archived", field="playbook_id")
    version = playbook.current
    if version is None:
        raise ValidationFailed(
            f"the playbook {playbook.name!r} has no version yet", field="playbook_id"
        )
    scope = _clean_scope(
        window_start=window_start,
        window_end=window_end,
        site=site,
        product=product,
        transaction_filter=transaction_filter,
        customer_ids=customer_ids,
    )
    now = timezone.now()
    breakdown = Breakdown(
        title=title,
        description=description,
        playbook_version=version,
        severity=severity,
        source=source,
        declared_by=actor_of(actor).user,
        declared_at=now,
    )
    _apply_scope(breakdown, scope)
    breakdown.save()
    breakdown.reference = f"BD-{breakdown.pk:05d}"
    breakdown.save(update_fields=["reference"])
    for item in version.actions.order_by("position", "id"):
        action = BreakdownAction.objects.create(
            breakdown=breakdown,
            position=item.position,
            title=item.title,
            details=item.details,
            owner_role=item.owner_role,
            target_minutes=item.target_minutes,
            due_at=now + timedelta(minutes=item.target_minutes),
        )
        # The checklist runs on the clock, not on opening hours: a breakdown
        # is worked until it is over.
        timer_start(
            subject_type=SUBJECT,
            subject_id=action.pk,
            kind=TIMER_KIND,
            target=timedelta(minutes=item.target_minutes),
            start=now,
        )
    count = _refind(breakdown)
    record_event(
        breakdown,
        kind="declared",
        summary=f"Declared from playbook {playbook.name} v{version.number}: "
        f"{count} customer{'s' if count != 1 else ''} affected",
        actor=actor,
        data={**_scope_summary(breakdown), "affected": count, "severity": severity},
        at=now,
    )
    webhook_publish(event="breakdown.declared", payload=breakdown_payload(breakdown))
    return breakdown


@transaction.atomic
def breakdown_rescope(*, breakdown: Breakdown, actor: ActorLike, **scope: Any) -> Breakdown:
    """Change who is affected (only before outreach); the affected list is found afresh."""
    breakdown = _lock(breakdown)
    _require(breakdown, Breakdown.Status.DECLARED, doing="the scope can change")
    known = {"window_start", "window_end", "site", "product", "transaction_filter", "customer_ids"}
    unknown = sorted(set(scope) - known)
    if unknown:
        raise ValidationFailed(f"{unknown[0]} is not part of the scope", field=unknown[0])
    current: dict[str, Any] = {
        "window_start": breakdown.window_start,
        "window_end": breakdown.window_end,
        "site": breakdown.site,
        "product": breakdown.product,
        "transaction_filter": {
            k: v for k, v in breakdown.transaction_filter.items() if k != "customer_ids"
        },
        "customer_ids": breakdown.transaction_filter.get("customer_ids") or None,
    }
    current.update(scope)
    clean = _clean_scope(**current)
    before = breakdown.affected_count
    _apply_scope(breakdown, clean)
    breakdown.save(
        update_fields=[
            "window_start",
            "window_end",
            "site",
            "product",
            "transaction_filter",
            "updated_at",
        ]
    )
    count = _refind(breakdown)
    record_event(
        breakdown,
        kind="rescoped",
        summary=f"Scope changed: {before} -> {count} customers affected",
        actor=actor,
        data={**_scope_summary(breakdown), "affected": [before, count]},
    )
    return breakdown


def _affected_row(breakdown: Breakdown, customer: Customer) -> AffectedCustomer:
    row = AffectedCustomer.objects.filter(breakdown=breakdown, customer=customer).first()
    if row is None:
        raise ValidationFailed(
            f"{customer.name} is not among the affected customers", field="customer_id"
        )
    return row


@transaction.atomic
def breakdown_exclude_customer(
    *, breakdown: Breakdown, actor: ActorLike, customer: Customer
) -> AffectedCustomer:
    """Leave a customer out of the outreach before it is confirmed (a Conflict after).

    Locks the breakdown; leaving out twice changes nothing and records nothing."""
    breakdown = _lock(breakdown)
    _require(breakdown, Breakdown.Status.DECLARED, doing="customers can be left out")
    row = _affected_row(breakdown, customer)
    if row.state != AffectedCustomer.State.EXCLUDED:
        row.state = AffectedCustomer.State.EXCLUDED
        row.save(update_fields=["state"])
        record_event(
            breakdown,
            kind="customer_excluded",
            summary=f"{customer.name} left out of the outreach",
            actor=actor,
            data={"customer_id": customer.pk},
        )
    return row


@transaction.atomic
def breakdown_include_customer(
    *, breakdown: Breakdown, actor: ActorLike, customer: Customer
) -> AffectedCustomer:
    """Put a left-out customer back, or add one the scope did not find."""
    breakdown = _lock(breakdown)
    _require(breakdown, Breakdown.Status.DECLARED, doing="customers can be added")
    row = AffectedCustomer.objects.filter(breakdown=breakdown, customer=customer).first()
    if row is not None and row.state != AffectedCustomer.State.EXCLUDED:
        return row
    if row is None:
        row = AffectedCustomer.objects.create(breakdown=breakdown, customer=customer)
        breakdown.affected_count += 1
        breakdown.save(update_fields=["affected_count", "updated_at"])
    else:
        row.state = AffectedCustomer.State.PENDING
        row.save(update_fields=["state"])
    outreach.link_open_cases(breakdown, only_ids=[row.pk])
    row.refresh_from_db()
    record_event(
        breakdown,
        kind="customer_included",
        summary=f"{customer.name} included in the outreach",
        actor=actor,
        data={"customer_id": customer.pk},
    )
    return row


# --- Outreach ---------------------------------------------------------------------------------


@transaction.atomic
def breakdown_confirm_outreach(*, breakdown: Breakdown, actor: ActorLike) -> Breakdown:
    """Send: the checklist is running, the outreach starts in the background in chunks."""
    breakdown = _lock(breakdown)
    _require(breakdown, Breakdown.Status.DECLARED, doing="outreach can be confirmed")
    version = breakdown.playbook_version
    if not version.templates.filter(purpose=TemplatePurpose.APOLOGY).exists():
        raise _refuse(
            f"the playbook {version.playbook.name!r} has no apology template; "
            "add one before contacting customers",
            field="playbook_id",
        )
    now = timezone.now()
    breakdown.status = Breakdown.Status.RECOVERING
    breakdown.confirmed_at = now
    breakdown.confirmed_by = actor_of(actor).user
    breakdown.outreach_paused = False
    breakdown.save(
        update_fields=["status", "confirmed_at", "confirmed_by", "outreach_paused", "updated_at"]
    )
    apology = outreach.first_templates(version, channel="email", language="en")[0]
    BreakdownMessage.objects.create(
        breakdown=breakdown,
        kind=BreakdownMessage.Kind.OUTREACH,
        subject=apology.subject if apology else "",
        body="\n\n".join(t.body for t in outreach.first_templates(version, "email", "en") if t),
        batch=_batch(breakdown, "outreach"),
        sent_by=actor_of(actor).user,
        sent_at=now,
    )
    linked = outreach.link_cases_to_breakdown(breakdown, actor=actor, now=now)
    counts = outreach.state_counts(breakdown)
    record_event(
        breakdown,
        kind="outreach_confirmed",
        summary=f"Outreach confirmed: {counts.get(AffectedCustomer.State.PENDING, 0)} to contact, "
        f"{linked} linked to their open case",
        actor=actor,
        data={"counts": counts, "linked": linked},
        at=now,
    )
    outreach_request(breakdown)
    return breakdown


def outreach_request(breakdown: Breakdown) -> None:
    """Have the workers contact the breakdown's PENDING customers (inside the caller's
    transaction). The work is a job row: a killed worker or a lost task delays it,
    never stops it, and asking while it runs makes it go round once more."""
    from bounceback.background.services import job_request

    job_request(kind=OUTREACH_JOB, key=outreach_job_key(breakdown.pk), subject_id=breakdown.pk)


OUTREACH_JOB = "outreach"


def outreach_job_key(breakdown_id: int) -> str:
    """The job row that owns a breakdown's outreach."""
    return f"outreach:{breakdown_id}"


def breakdown_outreach_run(
    *, breakdown_id: int, chunk: int | None = None, job: Job | None = None
) -> int:
    """Contact the PENDING customers, `chunk` per transaction, until done or paused.

    Idempotent and resumable: each chunk commits with its rows moved out of
    PENDING, so a second run, or a run after a crash, only does what is left.
    On PostgreSQL, outside a transaction, BOUNCEBACK_BULK_CONNECTIONS lanes
    claim chunks side by side; the completion is written once, at the end.
    With the `job` running it, each chunk reports progress (keeping the job's
    lease and clearing a stall). Returns the number of affected rows processed.
    """
    import threading

    from bounceback.background.services import job_progress
    from bounceback.bulk import lanes_for, run_lanes

    size = chunk or settings.BOUNCEBACK_OUTREACH_CHUNK
    if size < 1:
        raise ValidationFailed("chunk must be at least 1", field="chunk")
    pending = AffectedCustomer.objects.filter(
        breakdown_id=breakdown_id, state=AffectedCustomer.State.PENDING
    ).count()
    done = [0]
    counting = threading.Lock()

    def lane(stop: threading.Event) -> None:
        while not stop.is_set():
            processed = outreach.run_chunk(breakdown_id=breakdown_id, size=size)
            if not processed:
                return
            with counting:
                done[0] += processed
                if job is not None:
                    job_progress(job, processed=done[0], chunk=size)

    run_lanes(lanes_for(rows=pending, chunk=size), lane)
    outreach.outreach_finish(breakdown_id=breakdown_id)
    return done[0]


@transaction.atomic
def breakdown_pause_outreach(*, breakdown: Breakdown, actor: ActorLike) -> Breakdown:
    """Hold every message of the breakdown not yet handed out, and stop further chunks."""
    breakdown = _lock(breakdown)
    _require(breakdown, Breakdown.Status.RECOVERING, doing="outreach can be paused")
    if breakdown.outreach_paused:
        raise _refuse("the outreach is already paused")
    from bounceback.outbox.services import outbox_hold

    held = outbox_hold(batches=_batches(breakdown))
    breakdown.outreach_paused = True
    breakdown.save(update_fields=["outreach_paused", "updated_at"])
    record_event(
        breakdown,
        kind="outreach_paused",
        summary=f"Outreach paused: {held} message{'s' if held != 1 else ''} held",
        actor=actor,
        data={"held": held},
    )
    return breakdown


@transaction.atomic
def breakdown_resume_outreach(*, breakdown: Breakdown, actor: ActorLike) -> Breakdown:
    """Release the held messages at the channel rate from now, and carry on contacting."""
    breakdown = _lock(breakdown)
    _require(breakdown, Breakdown.Status.RECOVERING, doing="outreach can be resumed")
    if not breakdown.outreach_paused:
        raise _refuse("the outreach is not paused")
    from bounceback.outbox.services import outbox_release

    released = outbox_release(batches=_batches(breakdown))
    breakdown.outreach_paused = False
    breakdown.save(update_fields=["outreach_paused", "updated_at"])
    record_event(
        breakdown,
        kind="outreach_resumed",
        summary=f"Outreach resumed: {released} message{'s' if released != 1 else ''} released",
        actor=actor,
        data={"released": released},
    )
    if breakdown.affected.filter(state=AffectedCustomer.State.PENDING).exists():
        outreach_request(breakdown)
    return breakdown


# --- The checklist ------------------------------------------------------------------------------


@transaction.atomic
def breakdown_action_complete(
    *, action: BreakdownAction, actor: ActorLike, note: str = ""
) -> BreakdownAction:
    """Tick a checklist action done, with an optional note: its timer is met.

    Locks the breakdown, then the action. Refuses an action already done or
    closed at the all-clear, and a breakdown whose checklist is over."""
    breakdown = _lock(action.breakdown_id)
    action = BreakdownAction.objects.select_for_update().get(pk=action.pk)
    if action.state == BreakdownAction.State.DONE:
        raise _refuse(f"{action.title!r} is already done")
    if action.state == BreakdownAction.State.CLOSED:
        raise _refuse(f"{action.title!r} was closed at the all-clear")
    if breakdown.status not in {Breakdown.Status.DECLARED, Breakdown.Status.RECOVERING}:
        raise _refuse(
            f"{breakdown.reference} is {breakdown.get_status_display().lower()}; "
            "its checklist is over"
        )
    note = text_field(note, field="note")
    now = timezone.now()
    action.state = BreakdownAction.State.DONE
    action.done_at = now
    action.done_by = actor_of(actor).user
    action.note = note
    action.save(update_fields=["state", "done_at", "done_by", "note"])
    for timer in _action_timers([action.pk]):
        timer_meet(timer=timer, at=now)
    late = now > action.due_at
    record_event(
        breakdown,
        kind="action_done",
        summary=f"Done: {action.title}" + (" (late)" if late else ""),
        actor=actor,
        data={"action_id": action.pk, "note": note, "late": late},
        at=now,
    )
    return action


def _action_timers(action_ids: list[int]) -> list[Timer]:
    return list(
        Timer.objects.filter(subject_type=SUBJECT, subject_id__in=action_ids)
        .select_for_update()
        .order_by("id")
    )


def _end_checklist(breakdown: Breakdown, *, now: datetime) -> int:
    """Close open actions and stop every checklist clock (breaches stay recorded)."""
    ids = list(breakdown.actions.values_list("pk", flat=True))
    closed = breakdown.actions.filter(state=BreakdownAction.State.OPEN).update(
        state=BreakdownAction.State.CLOSED
    )
    for timer in _action_timers(ids):
        if timer.state in {Timer.State.RUNNING, Timer.State.PAUSED}:
            timer_cancel(timer=timer)
        elif timer.state == Timer.State.BREACHED and timer.met_at is None:
            timer_meet(timer=timer, at=now)
    return closed


# --- Updates, all-clear, cancel ------------------------------------------------------------------


WAVE_JOB = "breakdown_waves"


def waves_job_key(breakdown_id: int) -> str:
    """The job row that sends a breakdown's status updates and all-clear."""
    return f"waves:{breakdown_id}"


def _wave_start(breakdown: Breakdown, message: BreakdownMessage, *, actor: ActorLike) -> None:
    """Send `message` to every case on the breakdown: here and now when it fits in one
    chunk and no other wave is on its way; else in chunks by the waves job, after
    the waves before it (inside the caller's transaction)."""
    from bounceback.background.services import job_request

    size = settings.BOUNCEBACK_OUTREACH_CHUNK
    earlier = breakdown.messages.filter(
        state=BreakdownMessage.State.SENDING, pk__lt=message.pk
    ).exists()
    if not earlier and outreach.wave_rows_left(message).count() <= size:
        outreach.wave_chunk(message_id=message.pk, size=size, actor=actor)
        outreach.wave_finish(message_id=message.pk, actor=actor)
        message.refresh_from_db()
        return
    job_request(kind=WAVE_JOB, key=waves_job_key(breakdown.pk), subject_id=breakdown.pk)


def breakdown_waves_run(
    *, breakdown_id: int, chunk: int | None = None, job: Job | None = None
) -> int:
    """Send every wave of the breakdown still SENDING, oldest first, `chunk` cases per
    transaction (on BREAKDOWN_BULK_CONNECTIONS lanes on PostgreSQL), until done.

    Idempotent and resumable like the outreach: each chunk commits with its
    rows marked, so a run after a crash only does what is left; each message's
    completion is written once. Returns the number of rows processed.
    """
    import threading

    from bounceback.background.services import job_progress
    from bounceback.bulk import lanes_for, run_lanes

    size = chunk or settings.BOUNCEBACK_OUTREACH_CHUNK
    if size < 1:
        raise ValidationFailed("chunk must be at least 1", field="chunk")
    done = [0]
    counting = threading.Lock()
    sending = BreakdownMessage.objects.filter(
        breakdown_id=breakdown_id, state=BreakdownMessage.State.SENDING
    ).order_by("id")
    for message in list(sending):

        def lane(stop: threading.Event, message_id: int = message.pk) -> None:
            after = 0
            while not stop.is_set():
                result = outreach.wave_chunk(message_id=message_id, size=size, after=after)
                if not result or not result[0]:
                    return
                processed, after = result
                with counting:
                    done[0] += processed
                    if job is not None:
                        job_progress(job, processed=done[0], chunk=size, message=message_id)

        left = outreach.wave_rows_left(message).count()
        run_lanes(lanes_for(rows=left, chunk=size), lane)
        if not outreach.wave_finish(message_id=message.pk):
            message.refresh_from_db()
            if message.state == BreakdownMessage.State.SENDING:
                # Rows are left (a lane stopped early): the next run goes on from there.
                break
    return done[0]


@transaction.atomic
def breakdown_post_update(
    *, breakdown: Breakdown, actor: ActorLike, body: str, subject: str = ""
) -> BreakdownMessage:
    """One status update, written once, sent to every customer with a case on the
    breakdown: at once for a few, in chunks in the background for many (SENDING
    until every case has it; the "update_sent" event is written then)."""
    breakdown = _lock(breakdown)
    _require(breakdown, Breakdown.Status.RECOVERING, doing="updates can be sent")
    body = text_field(body, field="body", required=True)
    subject = text_field(subject, field="subject", max_length=300)
    _placeholders_ok(body, "body")
    _placeholders_ok(subject, "subject")
    now = timezone.now()
    number = breakdown.messages.filter(kind=BreakdownMessage.Kind.STATUS_UPDATE).count() + 1
    message = BreakdownMessage.objects.create(
        breakdown=breakdown,
        kind=BreakdownMessage.Kind.STATUS_UPDATE,
        subject=subject,
        body=body,
        batch=_batch(breakdown, f"update-{number}"),
        sent_by=actor_of(actor).user,
        sent_at=now,
        state=BreakdownMessage.State.SENDING,
    )
    _wave_start(breakdown, message, actor=actor)
    return message


@transaction.atomic
def breakdown_all_clear(
    *, breakdown: Breakdown, actor: ActorLike, body: str, subject: str = ""
) -> Breakdown:
    """It is over: tell everyone, close the checklist, move the cases to follow-up.

    The breakdown is all-clear at once; the message (which marks each case
    fixed) reaches a few cases at once, many in chunks in the background."""
    breakdown = _lock(breakdown)
    _require(breakdown, Breakdown.Status.RECOVERING, doing="the all-clear can be given")
    if breakdown.affected.filter(state=AffectedCustomer.State.PENDING).exists():
        raise _refuse(
            "some customers have not been contacted yet; let the outreach finish "
            "(resume it if paused) before the all-clear"
        )
    body = text_field(body, field="body", required=True)
    subject = text_field(subject, field="subject", max_length=300)
    _placeholders_ok(body, "body")
    _placeholders_ok(subject, "subject")
    now = timezone.now()
    message = BreakdownMessage.objects.create(
        breakdown=breakdown,
        kind=BreakdownMessage.Kind.ALL_CLEAR,
        subject=subject,
        body=body,
        batch=_batch(breakdown, "all-clear"),
        sent_by=actor_of(actor).user,
        sent_at=now,
        state=BreakdownMessage.State.SENDING,
    )
    if breakdown.outreach_paused:
        # The all-clear supersedes a paused wave: what was held goes out now.
        from bounceback.outbox.services import outbox_release

        outbox_release(batches=_batches(breakdown))
    closed = _end_checklist(breakdown, now=now)
    to_tell = outreach.wave_rows_left(message).count()
    breakdown.status = Breakdown.Status.ALL_CLEAR
    breakdown.all_clear_at = now
    breakdown.all_clear_by = actor_of(actor).user
    breakdown.outreach_paused = False
    breakdown.save(
        update_fields=["status", "all_clear_at", "all_clear_by", "outreach_paused", "updated_at"]
    )
    record_event(
        breakdown,
        kind="all_clear",
        summary=f"All clear given: {to_tell} case{'s' if to_tell != 1 else ''} to tell; "
        f"{closed} open checklist action{'s' if closed != 1 else ''} closed",
        actor=actor,
        data={"message_id": message.pk, "cases": to_tell, "actions_closed": closed},
        at=now,
    )
    _wave_start(breakdown, message, actor=actor)
    webhook_publish(event="breakdown.all_clear", payload=breakdown_payload(breakdown))
    return breakdown


@transaction.atomic
def breakdown_cancel(*, breakdown: Breakdown, actor: ActorLike, reason: str) -> Breakdown:
    """A false alarm, caught before anyone was contacted."""
    breakdown = _lock(breakdown)
    if breakdown.status == Breakdown.Status.RECOVERING:
        raise _refuse(
            f"{breakdown.reference} has already contacted customers; give the all-clear instead"
        )
    _require(breakdown, Breakdown.Status.DECLARED, doing="it can be cancelled")
    reason = text_field(reason, field="reason", max_length=300, required=True)
    now = timezone.now()
    _end_checklist(breakdown, now=now)
    breakdown.status = Breakdown.Status.CANCELLED
    breakdown.cancelled_at = now
    breakdown.save(update_fields=["status", "cancelled_at", "updated_at"])
    record_event(
        breakdown,
        kind="cancelled",
        summary=f"Cancelled: {reason}",
        actor=actor,
        data={"reason": reason},
        at=now,
    )
    return breakdown


# --- The review ---------------------------------------------------------------------------


def _review(breakdown: Breakdown) -> BreakdownReview:
    review = BreakdownReview.objects.select_for_update().filter(breakdown=breakdown).first()
    return review or BreakdownReview.objects.create(breakdown=breakdown)


@transaction.atomic
def breakdown_review_save(
    *,
    breakdown: Breakdown,
    actor: ActorLike,
    went_well: str,
    went_badly: str,
    actual_cost: Decimal | None = None,
    cost_currency: str | None = None,
    complete: bool = False,
) -> BreakdownReview:
    """Write the post-incident review; `complete` closes the breakdown.

    Locks the breakdown; refuses one that is not over yet (all-clear given or
    cancelled), and a complete review without what went well and badly."""
    breakdown = _lock(breakdown)
    if breakdown.status == Breakdown.Status.CLOSED:
        raise _refuse(f"the review of {breakdown.reference} is complete and closed")
    _require(breakdown, Breakdown.Status.ALL_CLEAR, doing="the review can be written")
    went_well = text_field(went_well, field="went_well", required=complete)
    went_badly = text_field(went_badly, field="went_badly", required=complete)
    if actual_cost is not None:
        try:
            actual_cost = Decimal(actual_cost)
        except (InvalidOperation, TypeError, ValueError):
            raise ValidationFailed("actual_cost must be an amount", field="actual_cost") from None
        if not actual_cost.is_finite() or actual_cost < 0 or actual_cost >= Decimal("1e12"):
            raise ValidationFailed(
                "actual_cost must be zero or more, below 1,000,000,000,000", field="actual_cost"
            )
        actual_cost = actual_cost.quantize(Decimal("0.01"))
    currency = (cost_currency or settings.BOUNCEBACK_CURRENCY).strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationFailed("cost_currency must be a three-letter code", field="cost_currency")
    review = _review(breakdown)
    review.went_well = went_well
    review.went_badly = went_badly
    review.actual_cost = actual_cost
    review.cost_currency = currency
    fields = ["went_well", "went_badly", "actual_cost", "cost_currency", "updated_at"]
    now = timezone.now()
    if complete:
        review.completed_by = actor_of(actor).user
        review.completed_at = now
        fields += ["completed_by", "completed_at"]
    review.save(update_fields=fields)
    if complete:
        breakdown.status = Breakdown.Status.CLOSED
        breakdown.closed_at = now
        breakdown.save(update_fields=["status", "closed_at", "updated_at"])
    record_event(
        breakdown,
        kind="review_completed" if complete else "review_saved",
        summary="Review completed; breakdown closed" if complete else "Review saved",
        actor=actor,
        data={"actual_cost": str(actual_cost) if actual_cost is not None else None},
        at=now,
    )
    return review


# --- Closing the loop on the breakdown's cases together ---------------------------------------


def _review_url(breakdown: Breakdown) -> str:
    from django.urls import reverse

    return reverse("breakdowns:review", args=[breakdown.pk]) + "#cases-loop"


def _record_bulk_run(
    breakdown: Breakdown, kind: str, doing: str, run: CaseBulkRun, *, actor: ActorLike
) -> None:
    """The timeline line of a closing-the-loop action too large to wait for."""
    record_event(
        breakdown,
        kind=kind,
        summary=f"{doing} {run.total:,} cases together in the background",
        actor=actor,
        data={"requested": run.total, "run": run.pk},
    )


def _open_cases(breakdown: Breakdown) -> list[Case]:
    return list(
        Case.objects.open().filter(breakdown=breakdown).select_related("customer").order_by("id")
    )


def breakdown_document_cases(
    *,
    breakdown: Breakdown,
    actor: ActorLike,
    root_cause: str,
    what_was_done: str,
    prevention_idea: str,
) -> BulkOutcome | CaseBulkRun:
    """The review's root cause documents every open case of the breakdown in one action
    (in the background, with progress, when there are many).

    Keeps the three texts on the review and records each case's document step
    as on its own page (cases_bulk_apply); a case that cannot be documented yet
    (not fixed) is listed with the reason. Refuses a breakdown whose all-clear
    has not been given, and missing text (nothing written then)."""
    values = {
        "root_cause": text_field(root_cause, field="root_cause", required=True),
        "what_was_done": text_field(what_was_done, field="what_was_done", required=True),
        "prevention_idea": text_field(prevention_idea, field="prevention_idea", required=True),
    }
    with transaction.atomic():
        breakdown = _lock(breakdown)
        _require(
            breakdown,
            Breakdown.Status.ALL_CLEAR,
            Breakdown.Status.CLOSED,
            doing="its cases can be documented together",
        )
        review = _review(breakdown)
        for name, value in values.items():
            setattr(review, name, value)
        review.save(update_fields=[*values, "updated_at"])
    outcome = cases_bulk_request(
        cases=_open_cases(breakdown),
        action=BulkAction.DOCUMENT,
        actor=actor,
        back_url=_review_url(breakdown),
        root_cause=values["root_cause"],
        what_was_done=values["what_was_done"],
        prevention_idea=values["prevention_idea"],
    )
    if isinstance(outcome, CaseBulkRun):
        _record_bulk_run(breakdown, "cases_documented", "Documenting", outcome, actor=actor)
        return outcome
    record_event(
        breakdown,
        kind="cases_documented",
        summary=f"Root cause documented on {len(outcome.done)} case"
        f"{'s' if len(outcome.done) != 1 else ''}",
        actor=actor,
        data={"documented": len(outcome.done), "refused": len(outcome.refused)},
    )
    return outcome


def breakdown_follow_up_cases(
    *, breakdown: Breakdown, actor: ActorLike, body: str, early_reason: str = ""
) -> BulkOutcome | CaseBulkRun:
    """Send the follow-up to every fixed, not yet followed-up case of the breakdown, as one
    wave. `body` may use {{ customer.first_name }}, {{ customer.name }} and
    {{ case.reference }}; each customer's survey link is added as for any follow-up."""
    body = text_field(body, field="body", required=True)
    bulk_message_problems(body)
    breakdown = Breakdown.objects.get(pk=breakdown.pk)
    _require(
        breakdown,
        Breakdown.Status.ALL_CLEAR,
        Breakdown.Status.CLOSED,
        doing="the follow-ups can go out",
    )
    due = [c for c in _open_cases(breakdown) if c.fixed_at and c.follow_up_sent_at is None]
    if not due:
        raise _refuse("no case of this breakdown is waiting for its follow-up")
    outcome = cases_bulk_request(
        cases=due,
        action=BulkAction.FOLLOW_UP,
        actor=actor,
        back_url=_review_url(breakdown),
        body=body,
        early_reason=early_reason,
    )
    if isinstance(outcome, CaseBulkRun):
        _record_bulk_run(breakdown, "cases_followed_up", "Following up", outcome, actor=actor)
        return outcome
    record_event(
        breakdown,
        kind="cases_followed_up",
        summary=f"Follow-up sent to {len(outcome.done)} customer"
        f"{'s' if len(outcome.done) != 1 else ''} as one wave",
        actor=actor,
        data={"sent": len(outcome.done), "refused": len(outcome.refused)},
    )
    return outcome


def breakdown_close_cases(*, breakdown: Breakdown, actor: ActorLike) -> BulkOutcome | CaseBulkRun:
    """Close every open case of the breakdown that is documented and followed up; the
    others are listed with what they still need."""
    breakdown = Breakdown.objects.get(pk=breakdown.pk)
    cases = _open_cases(breakdown)
    if not cases:
        raise _refuse("every case of this breakdown is already closed")
    outcome = cases_bulk_request(
        cases=cases, action=BulkAction.CLOSE, actor=actor, back_url=_review_url(breakdown)
    )
    if isinstance(outcome, CaseBulkRun):
        _record_bulk_run(breakdown, "cases_closed", "Closing", outcome, actor=actor)
        return outcome
    record_event(
        breakdown,
        kind="cases_closed",
        summary=f"{len(outcome.done)} case{'s' if len(outcome.done) != 1 else ''} closed together",
        actor=actor,
        data={"closed": len(outcome.done), "refused": len(outcome.refused)},
    )
    return outcome


@transaction.atomic
def review_action_item_add(
    *,
    breakdown: Breakdown,
    actor: ActorLike,
    kind: str,
    text: str,
    owner: User | None = None,
    playbook: Playbook | None = None,
) -> ReviewActionItem:
    """Add a follow-up item to the review (a playbook change, a failure mode to propose,
    or a task), optionally with an owner and the playbook it concerns."""
    breakdown = _lock(breakdown)
    _require(
        breakdown,
        Breakdown.Status.ALL_CLEAR,
        Breakdown.Status.CLOSED,
        doing="review action items can be added",
    )
    if kind not in ReviewActionItem.Kind.values:
        raise ValidationFailed(
            f"kind must be one of {', '.join(ReviewActionItem.Kind.values)}", field="kind"
        )
    text = text_field(text, field="text", max_length=5000, required=True)
    if owner is not None and not owner.is_active:
        raise ValidationFailed("the owner's account is disabled", field="owner_id")
    review = _review(breakdown)
    item = ReviewActionItem.objects.create(
        review=review, kind=kind, text=text, owner=owner, playbook=playbook
    )
    record_event(
        breakdown,
        kind="review_action_item",
        summary=f"Action item: {text[:200]}",
        actor=actor,
        data={"item_id": item.pk, "kind": kind},
    )
    return item


@transaction.atomic
def review_action_item_to_failure_mode(
    *,
    item: ReviewActionItem,
    actor: ActorLike,
    touchpoint: Touchpoint,
    title: str,
    severity: int,
    occurrence: int,
    detection: int,
    description: str = "",
) -> FailureMode:
    """Turn a lesson into a failure-mode proposal for the catalog."""
    from bounceback.failuremodes.services import failure_mode_propose

    item = ReviewActionItem.objects.select_for_update().select_related("review").get(pk=item.pk)
    if item.failure_mode_id is not None:
        raise _refuse("this action item already became a failure mode")
    mode = failure_mode_propose(
        actor=actor,
        touchpoint=touchpoint,
        title=title,
        description=description or item.text,
        severity=severity,
        occurrence=occurrence,
        detection=detection,
    )
    item.failure_mode = mode
    item.kind = ReviewActionItem.Kind.FAILURE_MODE
    item.save(update_fields=["failure_mode", "kind"])
    record_event(
        item.review.breakdown,
        kind="review_failure_mode",
        summary=f"Action item proposed as failure mode: {mode}",
        actor=actor,
        data={"item_id": item.pk, "failure_mode_id": mode.pk},
    )
    return mode


@transaction.atomic
def review_action_item_set_done(
    *, item: ReviewActionItem, actor: ActorLike, done: bool
) -> ReviewActionItem:
    """Mark a review item done or not (locks the item; no change, no write)."""
    item = ReviewActionItem.objects.select_for_update().get(pk=item.pk)
    if item.done != done:
        item.done = done
        item.save(update_fields=["done"])
    return item


__all__ = [
    "breakdown_action_complete",
    "breakdown_all_clear",
    "breakdown_cancel",
    "breakdown_confirm_outreach",
    "breakdown_declare",
    "breakdown_exclude_customer",
    "breakdown_include_customer",
    "breakdown_outreach_run",
    "breakdown_pause_outreach",
    "breakdown_post_update",
    "breakdown_rescope",
    "breakdown_resume_outreach",
    "breakdown_review_save",
    "breakdown_waves_run",
    "review_action_item_add",
    "review_action_item_set_done",
    "review_action_item_to_failure_mode",
]


# --- Cases that came in on their own -----------------------------------------------------------

LINKABLE = (Breakdown.Status.DECLARED, Breakdown.Status.RECOVERING, Breakdown.Status.ALL_CLEAR)


@transaction.atomic
def breakdown_link_case(*, breakdown: Breakdown, case: Case, actor: ActorLike) -> Case:
    """A complaint that came in anyway joins the breakdown (the review counts it).

    Closed cases may be linked: the link is a record of what the complaint was
    about and changes nothing in the case's own recovery, and complaints are
    often only recognised as part of a breakdown once they are dealt with.
    Linking the same case twice is a no-op. The customer, if still waiting to
    be contacted, is marked linked so the outreach does not contact them twice.
    """
    breakdown = _lock(breakdown)
    _require(breakdown, *LINKABLE, doing="cases can be linked to it")
    # Another link of this case would queue behind the breakdown's lock we hold.
    if Case.objects.filter(pk=case.pk, breakdown_id=breakdown.pk).exists():
        return case
    case = case_join_breakdown(
        case=case,
        breakdown_id=breakdown.pk,
        breakdown_reference=breakdown.reference or str(breakdown.pk),
        breakdown_title=breakdown.title,
        actor=actor,
    )
    row = (
        AffectedCustomer.objects.select_for_update()
        .filter(
            breakdown=breakdown,
            customer_id=case.customer_id,
            state__in=[AffectedCustomer.State.PENDING, AffectedCustomer.State.LINKED],
        )
        .first()
    )
    if row is not None and (row.state == AffectedCustomer.State.PENDING or row.case_id is None):
        row.state = AffectedCustomer.State.LINKED
        row.case = case
        row.save(update_fields=["state", "case"])
    record_event(
        breakdown,
        kind="case_linked",
        summary=f"{case.reference} linked: a complaint that came in on its own",
        actor=actor,
        data={"case_id": case.pk, "case": case.reference, "customer_id": case.customer_id},
    )
    return case


@transaction.atomic
def breakdown_unlink_case(*, breakdown: Breakdown, case: Case, actor: ActorLike) -> Case:
    """Undo a link made by mistake. Cases the outreach opened belong to the breakdown.

    A customer who was left out of the outreach because of this case goes back
    to waiting for it while it can still reach them (declared, recovering);
    after the all-clear they are recorded as left out.
    """
    breakdown = _lock(breakdown)
    _require(breakdown, *LINKABLE, doing="cases can be unlinked from it")
    case = case_leave_breakdown(
        case=case,
        breakdown_id=breakdown.pk,
        breakdown_reference=breakdown.reference or str(breakdown.pk),
        actor=actor,
    )
    row = (
        AffectedCustomer.objects.select_for_update()
        .filter(breakdown=breakdown, case=case, state=AffectedCustomer.State.LINKED)
        .first()
    )
    contact = False
    if row is not None:
        if breakdown.status == Breakdown.Status.ALL_CLEAR:
            row.state = AffectedCustomer.State.EXCLUDED
        else:
            row.state = AffectedCustomer.State.PENDING
            contact = breakdown.status == Breakdown.Status.RECOVERING
        row.case = None
        row.save(update_fields=["state", "case"])
    record_event(
        breakdown,
        kind="case_unlinked",
        summary=f"{case.reference} unlinked",
        actor=actor,
        data={"case_id": case.pk, "case": case.reference, "customer_id": case.customer_id},
    )
    if contact and not breakdown.outreach_paused:
        outreach_request(breakdown)
    return case


__all__ += ["breakdown_link_case", "breakdown_unlink_case"]
