"""Backdating: how the demo gives its cases a history.

Why this exists: the case services act *now*. Each step stamps timezone.now()
on the case, its events, its timers and the messages it sends, which is what
real work needs. A demo needs weeks of history instead, and the only way to
get it without a second, demo-only copy of the recovery rules is to run every
step through the real service and then move what that call just wrote to the
moment the step is meant to have happened. That move is all this module
does, and only the demo uses it.

It keeps the data consistent the way the services would have left it had the
steps really happened then:

- `step()` shifts every timestamp the call wrote (on the case, its new events,
  messages, outbox rows, links and notifications, and the timers it started,
  met, paused or resumed) by the same amount, so intervals inside the step
  (due = started + target, the cool-off after a fix) stay exact. A paused
  timer's time left is recounted from its new pause moment.
- `catch_up()` runs the timer clock through history: before each step, every
  warning, breach and escalation due by then fires through the real
  `timers_fire_due`, one moment at a time, exactly as a worker polling live
  would have fired it. The breach events, breach counts and notifications are
  the handlers' own; only their timestamps are set to the moment they fired.
- `finish()` marks the outbox messages of the past as sent (they were; a demo
  worker should not send weeks of old mail), leaves the last minutes' messages
  queued for a running worker to deliver, marks old notifications read, and
  dates each case's `updated_at` to its latest event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db.models import F, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from bounceback.cases.models import Case, CaseEvent, CaseLink
from bounceback.interactions.models import Interaction
from bounceback.notifications.models import Notification
from bounceback.outbox.models import OutboundMessage
from bounceback.timers.calendars import business_seconds_between
from bounceback.timers.models import BusinessCalendar, Timer
from bounceback.timers.services import timers_fire_due

T = TypeVar("T")

CASE_TIMES = (
    "apologised_at",
    "reviewed_at",
    "last_update_at",
    "fixed_at",
    "follow_up_sent_at",
    "follow_up_recorded_at",
    "documented_at",
    "closed_at",
    "updated_at",
)
TIMER_TIMES = (
    "started_at",
    "due_at",
    "warn_at",
    "warned_at",
    "paused_at",
    "met_at",
    "breached_at",
    "escalate_at",
    "next_fire_at",
)
# Steps that message the customer (through the outbox), that log an
# interaction, that can notify staff, and that can resume paused clocks.
SENDS = {"apologise", "update", "fix", "follow_up"}
WRITES = SENDS | {"customer"}
NOTIFIES = {"record"}
RESUMES = {"customer", "resume"}
# Messages newer than this stay queued for a worker; older ones were delivered.
RECENT = timedelta(minutes=15)
# Staff have read their notifications older than this.
READ_AFTER = timedelta(hours=12)
# A clock that keeps finding work past this many moments has a bug.
MAX_MOMENTS = 20_000


def _max_pk(model: Any) -> int:
    return int(model.objects.aggregate(top=Max("pk"))["top"] or 0)


class Backdater:
    """Replays case steps at moments in the past. One per demo load."""

    def __init__(self) -> None:
        # Rows written before the load are never touched.
        self.first_case = _max_pk(Case) + 1
        self.first_message = _max_pk(OutboundMessage) + 1
        self.first_notification = _max_pk(Notification) + 1
        self.moments = 0

    # --- one step -------------------------------------------------------------------

    def step(self, case: Case, at: datetime, action: str, run: Callable[[], T]) -> T:
        """Run a service call for `case` and move what it wrote to `at`.

        `action` names the step ("apologise", "resume", ...), so only the
        tables it can write are visited.
        """
        resumed = self._paused(case.pk) if action in RESUMES else set()
        started = timezone.now()
        result = run()
        delta = at - started
        self._move_case(case.pk, started, delta)
        self._move_timers(case.pk, started, delta, resumed)
        # The rows this call wrote are the ones stamped since it started.
        CaseEvent.objects.filter(case_id=case.pk, at__gte=started).update(at=F("at") + delta)
        if action in WRITES:
            written = Interaction.objects.filter(case_id=case.pk, created_at__gte=started)
            # Moments given explicitly (when a call took place) are already right.
            written.filter(occurred_at__gte=started).update(occurred_at=F("occurred_at") + delta)
            written.update(created_at=F("created_at") + delta)
        if action in SENDS:
            OutboundMessage.objects.filter(
                pk__gte=self.first_message, created_at__gte=started
            ).update(
                created_at=F("created_at") + delta,
                next_attempt_at=F("next_attempt_at") + delta,
            )
        if action in NOTIFIES:
            Notification.objects.filter(
                pk__gte=self.first_notification, created_at__gte=started
            ).update(created_at=F("created_at") + delta)
        if action == "link":
            CaseLink.objects.filter(created_at__gte=started).update(
                created_at=F("created_at") + delta
            )
        return result

    def _paused(self, pk: int) -> set[int]:
        return set(
            Timer.objects.for_subject("case", pk)
            .filter(state=Timer.State.PAUSED)
            .values_list("id", flat=True)
        )

    def _move_case(self, pk: int, started: datetime, delta: timedelta) -> None:
        # A case's own timestamps are only ever set to "now", so the ones this
        # call wrote are exactly those not older than the call.
        after = Case.objects.filter(pk=pk).values(*CASE_TIMES).get()
        changes = {
            name: value + delta
            for name, value in after.items()
            if value is not None and value >= started
        }
        if changes:
            Case.objects.filter(pk=pk).update(**changes)

    def _move_timers(self, pk: int, started: datetime, delta: timedelta, resumed: set[int]) -> None:
        rows = Timer.objects.for_subject("case", pk).values(
            "id", "state", "calendar_id", "remaining_seconds", *TIMER_TIMES
        )
        for row in rows:
            was_resumed = row["id"] in resumed and row["state"] != Timer.State.PAUSED
            if row["started_at"] >= started or was_resumed:
                # Started or resumed by this call: its whole clock moves with it.
                changes = {n: row[n] + delta for n in TIMER_TIMES if row[n] is not None}
                if was_resumed:
                    # Only the due time (and a warning still to come) moved on resume.
                    changes = {n: changes[n] for n in ("due_at", "next_fire_at") if n in changes}
                    if row["warn_at"] is not None and row["warned_at"] is None:
                        changes["warn_at"] = row["warn_at"] + delta
            else:
                # Met or paused by this call: those moments are "now". (Due and
                # warning times of other timers may lie ahead; they stay.)
                changes = {
                    n: row[n] + delta
                    for n in ("met_at", "paused_at")
                    if row[n] is not None and row[n] >= started
                }
                if "paused_at" in changes:
                    # Count the time left from the new pause moment.
                    calendar = (
                        BusinessCalendar.objects.get(pk=row["calendar_id"])
                        if row["calendar_id"]
                        else None
                    )
                    changes["remaining_seconds"] = business_seconds_between(
                        calendar=calendar, start=changes["paused_at"], end=row["due_at"]
                    )
            if changes:
                Timer.objects.filter(pk=row["id"]).update(**changes)

    # --- the clock --------------------------------------------------------------------

    def catch_up(self, until: datetime) -> int:
        """Fire every timer event due by `until`, each at its own moment; returns how many."""
        fired = 0
        while True:
            moment = Timer.objects.filter(next_fire_at__lte=until).aggregate(
                first=Min("next_fire_at")
            )["first"]
            if moment is None:
                return fired
            self.moments += 1
            if self.moments > MAX_MOMENTS:
                raise RuntimeError("the demo's timer clock does not settle; a timer keeps firing")
            started = timezone.now()
            fired += timers_fire_due(now=moment)
            # The handlers date what they write with the real clock; it happened at `moment`.
            CaseEvent.objects.filter(at__gte=started).update(at=moment)
            Notification.objects.filter(created_at__gte=started).update(created_at=moment)

    # --- the end of the load ------------------------------------------------------------

    def finish(self, *, now: datetime) -> None:
        cases = Case.objects.filter(pk__gte=self.first_case)
        # Timers were created when the loader ran; they belong to when they started.
        Timer.objects.filter(subject_type="case", subject_id__gte=self.first_case).update(
            created_at=F("started_at")
        )
        OutboundMessage.objects.filter(
            pk__gte=self.first_message,
            state=OutboundMessage.State.QUEUED,
            created_at__lt=now - RECENT,
        ).update(
            state=OutboundMessage.State.SENT,
            attempts=1,
            sent_at=F("created_at") + timedelta(seconds=2),
            next_attempt_at=F("created_at"),
        )
        Notification.objects.filter(
            pk__gte=self.first_notification,
            read_at__isnull=True,
            created_at__lt=now - READ_AFTER,
        ).update(read_at=F("created_at") + timedelta(minutes=20))
        latest = CaseEvent.objects.filter(case=OuterRef("pk")).order_by("-at", "-id").values("at")
        cases.update(updated_at=Coalesce(Subquery(latest[:1]), F("created_at")))


class BreakdownBackdater:
    """Replays a breakdown's steps at moments in the past, as Backdater does for a case.

    A breakdown step writes set-based (hundreds of cases, events, messages and
    timers in a few statements), so the rows it wrote are found by id: every
    row newer than the step is moved whole, and of the rows the step only
    updated, those belonging to the breakdown (the breakdown, its checklist,
    affected list, review, cases and their timers) have their fields stamped
    "now" moved. Nothing outside the breakdown is touched, so the live timers
    of today's cases keep their due times.
    """

    def __init__(self, breakdown_id: int | None = None) -> None:
        self.breakdown_id = breakdown_id

    @staticmethod
    def _models() -> list[Any]:
        from bounceback.breakdowns.models import (
            BreakdownAction,
            BreakdownEvent,
            BreakdownMessage,
            BreakdownReview,
            ReviewActionItem,
        )
        from bounceback.failuremodes.models import FailureMode

        return [
            Case,
            CaseEvent,
            Interaction,
            OutboundMessage,
            Timer,
            Notification,
            BreakdownAction,
            BreakdownEvent,
            BreakdownMessage,
            BreakdownReview,
            ReviewActionItem,
            FailureMode,
        ]

    @staticmethod
    def _times(model: Any) -> list[str]:
        return [
            f.name for f in model._meta.concrete_fields if f.get_internal_type() == "DateTimeField"
        ]

    @staticmethod
    def _shift(rows: Any, names: Any, started: datetime, delta: timedelta) -> None:
        for name in names:
            rows.filter(**{f"{name}__gte": started}).update(**{name: F(name) + delta})

    def step(self, at: datetime, run: Callable[[], T]) -> T:
        from bounceback.breakdowns.models import (
            AffectedCustomer,
            Breakdown,
            BreakdownAction,
            BreakdownReview,
        )

        models = self._models()
        marks = {model: _max_pk(model) for model in models}
        started = timezone.now()
        result = run()
        delta = at - started
        if self.breakdown_id is None and isinstance(result, Breakdown):
            self.breakdown_id = result.pk
        for model in models:
            self._shift(
                model.objects.filter(pk__gt=marks[model]), self._times(model), started, delta
            )
        pk = self.breakdown_id
        if pk is None:
            return result
        self._on_time(pk, marks)
        self._shift(Breakdown.objects.filter(pk=pk), self._times(Breakdown), started, delta)
        self._shift(
            BreakdownAction.objects.filter(breakdown_id=pk, pk__lte=marks[BreakdownAction]),
            ["done_at"],
            started,
            delta,
        )
        self._shift(
            AffectedCustomer.objects.filter(breakdown_id=pk), ["contacted_at"], started, delta
        )
        self._shift(
            BreakdownReview.objects.filter(breakdown_id=pk, pk__lte=marks[BreakdownReview]),
            self._times(BreakdownReview),
            started,
            delta,
        )
        case_ids = list(Case.objects.filter(breakdown_id=pk).values_list("pk", flat=True))
        self._shift(
            Case.objects.filter(pk__in=case_ids, pk__lte=marks[Case]), CASE_TIMES, started, delta
        )
        action_ids = list(
            BreakdownAction.objects.filter(breakdown_id=pk).values_list("pk", flat=True)
        )
        timers = Timer.objects.filter(pk__lte=marks[Timer]).filter(
            Q(subject_type="case", subject_id__in=case_ids)
            | Q(subject_type="breakdown_action", subject_id__in=action_ids)
        )
        self._shift(timers, ["met_at", "paused_at"], started, delta)
        return result

    @staticmethod
    def _on_time(pk: int, marks: dict[Any, int]) -> None:
        """Judge "late" again for actions just ticked off: the service judged it by the
        real clock, against a due time that is already in the past."""
        from bounceback.breakdowns.models import BreakdownAction, BreakdownEvent

        for event in BreakdownEvent.objects.filter(
            breakdown_id=pk, pk__gt=marks[BreakdownEvent], kind="action_done", data__late=True
        ):
            action = BreakdownAction.objects.get(pk=event.data["action_id"])
            if event.at <= action.due_at:
                event.summary = event.summary.removesuffix(" (late)")
                event.data = {**event.data, "late": False}
                event.save(update_fields=["summary", "data"])
