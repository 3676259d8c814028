"""Starting, pausing, meeting and firing timers.

Rules for callers:
- Change timers only through these functions; they keep `next_fire_at`, the
  column workers poll, consistent with the timer's state.
- Call them inside the transaction that changes the timer's subject, so the
  subject and its deadline never disagree. A subject that keeps its next due
  time on its row (cases: `next_due_at`) is told through `due_changed` in the
  same transaction whenever a timer starts, resumes, pauses, is met or is
  cancelled; firing (warn, breach, escalate) leaves the due time as it was.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bounceback.errors import ValidationFailed
from bounceback.timers.calendars import (
    business_add,
    business_seconds_between,
    calendar_check_hours,
)
from bounceback.timers.handlers import TimerEvent, due_changed, handler_for
from bounceback.timers.models import BusinessCalendar, Timer

logger = logging.getLogger(__name__)

DEFAULT_WARN_FRACTION = 0.75
# A handler that keeps failing is retried with backoff, then left for a human.
MAX_FIRE_ATTEMPTS = 8
# Level 1 is the breach itself (the lead), 2 the manager, 3 senior management.
MAX_ESCALATION_LEVEL = 3


def calendar_create(
    *,
    name: str,
    time_zone: str,
    hours: dict[str, Any],
    holidays: list[tuple[date, str]] | None = None,
) -> BusinessCalendar:
    """Opening hours and holidays a timer can count on; refuses a taken name, unknown
    time zone and malformed hours (checked by calendar_check_hours)."""
    name = name.strip()
    if not name:
        raise ValidationFailed("a calendar needs a name", field="name")
    if BusinessCalendar.objects.filter(name__iexact=name).exists():
        raise ValidationFailed(f"a calendar named {name!r} exists", field="name")
    clean = calendar_check_hours(hours=hours, time_zone=time_zone)
    with transaction.atomic():
        calendar = BusinessCalendar.objects.create(name=name, time_zone=time_zone, hours=clean)
        for day, label in holidays or []:
            calendar.holidays.create(date=day, name=label)
    return calendar


def _next_fire(timer: Timer) -> datetime | None:
    if timer.state == Timer.State.RUNNING:
        if timer.warn_at and not timer.warned_at and timer.warn_at < timer.due_at:
            return timer.warn_at
        return timer.due_at
    if timer.state == Timer.State.BREACHED and timer.met_at is None and timer.paused_at is None:
        return timer.escalate_at
    return None


def timer_start(
    *,
    subject_type: str,
    subject_id: int,
    kind: str,
    target: timedelta,
    calendar: BusinessCalendar | None = None,
    start: datetime | None = None,
    warn_fraction: float | None = DEFAULT_WARN_FRACTION,
    warn_at: datetime | None = None,
    escalation_period: timedelta | None = None,
) -> Timer:
    """Start a deadline `target` from `start` (open time when on a calendar).

    The warning fires at `warn_at` if given, else after `warn_fraction` of the
    target; after a breach, escalation repeats every `escalation_period`
    (default: the target again) until the timer is met.
    """
    start = start or timezone.now()
    seconds = int(target.total_seconds())
    if seconds <= 0:
        raise ValidationFailed("a timer needs a positive target", field="target")
    due_at = business_add(calendar=calendar, start=start, seconds=seconds)
    if warn_at is None and warn_fraction:
        warn_at = business_add(calendar=calendar, start=start, seconds=int(seconds * warn_fraction))
    period = int((escalation_period or target).total_seconds())
    timer = Timer(
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind,
        calendar=calendar,
        target_seconds=seconds,
        started_at=start,
        due_at=due_at,
        warn_at=warn_at,
        escalation_period_seconds=period,
    )
    timer.next_fire_at = _next_fire(timer)
    timer.save()
    due_changed(subject_type, [subject_id], due_at)
    return timer


def timer_meet(*, timer: Timer, at: datetime | None = None) -> Timer:
    """The step was done: stop the clock (a breached timer keeps its breach)."""
    at = at or timezone.now()
    if timer.state in {Timer.State.MET, Timer.State.CANCELLED} or timer.met_at:
        return timer
    if timer.state != Timer.State.BREACHED:
        timer.state = Timer.State.MET
    timer.met_at = at
    timer.paused_at = None
    timer.next_fire_at = None
    timer.save(update_fields=["state", "met_at", "paused_at", "next_fire_at"])
    due_changed(timer.subject_type, [timer.subject_id], None)
    return timer


def timer_cancel(*, timer: Timer) -> Timer:
    """Stop a running or paused timer for good (nothing fires); others stay as they are."""
    if timer.state in {Timer.State.RUNNING, Timer.State.PAUSED}:
        timer.state = Timer.State.CANCELLED
        timer.next_fire_at = None
        timer.save(update_fields=["state", "next_fire_at"])
        due_changed(timer.subject_type, [timer.subject_id], None)
    return timer


def timer_pause(*, timer: Timer, at: datetime | None = None) -> Timer:
    """Stop the clock while we wait on someone else, remembering the time left.

    A breached timer not yet met keeps its breach but stops escalating until it
    resumes: waiting on the customer is nobody's fault inside the business.
    """
    at = at or timezone.now()
    if timer.state == Timer.State.BREACHED and timer.met_at is None and timer.paused_at is None:
        timer.paused_at = at
        timer.next_fire_at = None
        timer.save(update_fields=["paused_at", "next_fire_at"])
        return timer
    if timer.state != Timer.State.RUNNING:
        return timer
    timer.remaining_seconds = business_seconds_between(
        calendar=timer.calendar, start=at, end=timer.due_at
    )
    timer.state = Timer.State.PAUSED
    timer.paused_at = at
    timer.next_fire_at = None
    timer.save(update_fields=["state", "paused_at", "remaining_seconds", "next_fire_at"])
    due_changed(timer.subject_type, [timer.subject_id], None)
    return timer


def timer_resume(*, timer: Timer, at: datetime | None = None) -> Timer:
    """Restart a paused clock with the time that was left when it paused."""
    at = at or timezone.now()
    if timer.state == Timer.State.BREACHED and timer.paused_at is not None:
        # Escalation picks up where it stopped: the wait does not count.
        if timer.escalate_at is not None:
            timer.escalate_at += max(at - timer.paused_at, timedelta(0))
        timer.paused_at = None
        timer.next_fire_at = _next_fire(timer)
        timer.save(update_fields=["escalate_at", "paused_at", "next_fire_at"])
        return timer
    if timer.state != Timer.State.PAUSED:
        return timer
    remaining = timer.remaining_seconds or 0
    new_due = business_add(calendar=timer.calendar, start=at, seconds=remaining)
    shift = new_due - timer.due_at
    if timer.warn_at and not timer.warned_at:
        timer.warn_at = timer.warn_at + shift
    timer.due_at = new_due
    timer.state = Timer.State.RUNNING
    timer.paused_at = None
    timer.remaining_seconds = None
    timer.next_fire_at = _next_fire(timer)
    timer.save(
        update_fields=[
            "state",
            "due_at",
            "warn_at",
            "paused_at",
            "remaining_seconds",
            "next_fire_at",
        ]
    )
    due_changed(timer.subject_type, [timer.subject_id], new_due)
    return timer


def _advance(timer: Timer, now: datetime) -> TimerEvent | None:
    """Move a due timer one step on; returns the event to report, if any."""
    if timer.state == Timer.State.RUNNING and now >= timer.due_at:
        timer.state = Timer.State.BREACHED
        timer.breached_at = timer.due_at
        timer.escalation_level = 1
        timer.escalate_at = timer.due_at + timedelta(seconds=timer.escalation_period_seconds or 0)
        return "breach"
    if timer.state == Timer.State.RUNNING and timer.warn_at and not timer.warned_at:
        timer.warned_at = now
        return "warn"
    if timer.state == Timer.State.BREACHED and timer.escalate_at and now >= timer.escalate_at:
        timer.escalation_level += 1
        period = timedelta(seconds=timer.escalation_period_seconds or 3600)
        timer.escalate_at = (
            timer.escalate_at + period if timer.escalation_level < MAX_ESCALATION_LEVEL else None
        )
        return "escalate"
    return None


def _claim(now: datetime, batch: int) -> list[Timer]:
    due = Timer.objects.due(now).order_by("next_fire_at")
    if connection.features.has_select_for_update_skip_locked:
        # Several workers poll at once; each takes rows no one else holds. Only
        # the timer rows: PostgreSQL cannot lock the nullable calendar join.
        due = due.select_for_update(skip_locked=True, of=("self",))
    # No join to the calendar: firing never needs it, and the join made
    # PostgreSQL sort the due rows instead of walking the index in order.
    return list(due[:batch])


def timers_fire_due(*, now: datetime | None = None, batch: int = 200) -> int:
    """Fire every timer whose next event is due; returns how many events fired.

    Each timer is claimed, advanced and handled in one transaction: a worker
    killed half-way leaves the row as it was (the next poll fires it), and a
    fired event is never fired again because the new state commits with it.
    On SQLite the IMMEDIATE transaction itself serialises the claim.
    """
    fired = 0
    # A read first: an idle poll then takes no write lock (SQLite) and opens no
    # transaction, which is nearly every poll.
    if not Timer.objects.due(now or timezone.now()).exists():
        return 0
    while True:
        now_at = now or timezone.now()
        with transaction.atomic():
            timers = _claim(now_at, batch)
            for timer in timers:
                fired += _fire_one(timer, now_at)
        if len(timers) < batch:
            return fired


def _fire_one(timer: Timer, now: datetime) -> int:
    event = _advance(timer, now)
    timer.next_fire_at = _next_fire(timer)
    if event is not None:
        handler = handler_for(timer.subject_type)
        if handler is not None:
            try:
                with transaction.atomic():
                    handler(timer, event)
            except Exception as exc:  # a broken handler must not stall every other timer
                logger.exception("timer %s: %s handler failed", timer.pk, event)
                timer.refresh_from_db()
                timer.fire_attempts += 1
                timer.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                timer.next_fire_at = (
                    now + timedelta(seconds=2**timer.fire_attempts)
                    if timer.fire_attempts < MAX_FIRE_ATTEMPTS
                    else None
                )
                timer.save(update_fields=["fire_attempts", "last_error", "next_fire_at"])
                return 0
    timer.fire_attempts = 0
    timer.save(
        update_fields=[
            "state",
            "breached_at",
            "warned_at",
            "escalation_level",
            "escalate_at",
            "next_fire_at",
            "fire_attempts",
        ]
    )
    return 1 if event else 0
