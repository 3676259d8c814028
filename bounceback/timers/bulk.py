"""Timers for many subjects at once: the rows timer_start and timer_meet write, set-based.

For a breakdown's all-clear to tens of thousands of cases: one statement per
group of timers that share their due times, never one per subject. Callers
(cases/bulk.py) run these inside their own transaction, for subjects they
hold locks or set-based ownership of.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from bounceback.bulk import allocate_ids, bulk_insert, id_match
from bounceback.timers.calendars import business_add
from bounceback.timers.handlers import due_changed
from bounceback.timers.models import BusinessCalendar, Timer
from bounceback.timers.services import DEFAULT_WARN_FRACTION


def timers_start_many(
    *,
    subject_type: str,
    subject_ids: Sequence[int],
    kind: str,
    target: timedelta,
    calendar: BusinessCalendar | None,
    start: datetime,
    warn_fraction: float | None = DEFAULT_WARN_FRACTION,
    warn_at: datetime | None = None,
) -> None:
    """timer_start for each subject, all from `start` with the same target: one row each."""
    if not subject_ids:
        return
    seconds = int(target.total_seconds())
    due_at = business_add(calendar=calendar, start=start, seconds=seconds)
    if warn_at is None and warn_fraction:
        warn_at = business_add(calendar=calendar, start=start, seconds=int(seconds * warn_fraction))
    next_fire = warn_at if warn_at and warn_at < due_at else due_at
    bulk_insert(
        Timer,
        varying={"id": allocate_ids(Timer, len(subject_ids)), "subject_id": list(subject_ids)},
        constant={
            "subject_type": subject_type,
            "kind": kind,
            "state": Timer.State.RUNNING,
            "calendar_id": calendar.pk if calendar else None,
            "target_seconds": seconds,
            "started_at": start,
            "due_at": due_at,
            "warn_at": warn_at,
            "escalation_period_seconds": seconds,
            "next_fire_at": next_fire,
            "escalation_level": 0,
            "fire_attempts": 0,
        },
        now=start,
    )
    due_changed(subject_type, subject_ids, due_at)


def _stamp(at: datetime) -> Any:
    return at if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(at)


def timers_meet_many(
    *, subject_type: str, subject_ids: Sequence[int], kinds: Sequence[str], at: datetime
) -> None:
    """timer_meet for these subjects' timers of `kinds`: running ones are met, breaches
    stay breached, met and cancelled ones are left as they are."""
    if not subject_ids:
        return
    table = connection.ops.quote_name(Timer._meta.db_table)
    match, params = id_match("subject_id", list(subject_ids))
    marks = ", ".join(["%s"] * len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = CASE WHEN state = %s THEN state ELSE %s END, "  # noqa: S608
            "met_at = %s, paused_at = NULL, next_fire_at = NULL "
            f"WHERE subject_type = %s AND kind IN ({marks}) AND met_at IS NULL "
            f"AND state IN (%s, %s, %s) AND {match}",
            [
                Timer.State.BREACHED,
                Timer.State.MET,
                _stamp(at),
                subject_type,
                *kinds,
                Timer.State.RUNNING,
                Timer.State.PAUSED,
                Timer.State.BREACHED,
                *params,
            ],
        )
    due_changed(subject_type, subject_ids, None)


def timers_unmet_subjects(*, subject_type: str, kind: str, subject_ids: Sequence[int]) -> set[int]:
    """Which of these subjects have a timer of `kind` not yet met."""
    if not subject_ids:
        return set()
    table = connection.ops.quote_name(Timer._meta.db_table)
    match, params = id_match("subject_id", list(subject_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT subject_id FROM {table} WHERE subject_type = %s "  # noqa: S608
            f"AND kind = %s AND met_at IS NULL AND {match}",
            [subject_type, kind, *params],
        )
        return {row[0] for row in cursor.fetchall()}
