from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.cases.models import Case, CaseEvent, CaseViewer
from bounceback.customers.models import Channel
from bounceback.interactions.models import Interaction
from bounceback.outbox.channels import usable_channels
from bounceback.timers.models import Timer

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


# Channels on which staff speak to the customer themselves; a message is
# recorded as said, not delivered by us.
SPOKEN = frozenset({Channel.PHONE, Channel.IN_PERSON})

_SPOKEN_LABELS = {
    Channel.PHONE: "Phone call (logged as said)",
    Channel.IN_PERSON: "In person (logged as said)",
}


def message_channels(usable: frozenset[str] | None = None) -> list[tuple[str, str]]:
    """(value, label) of every channel a message can go out on now.

    Email and the written channels count only while an adapter can deliver
    them (a provider configured for SMS, say); spoken ones always can. Pass
    `usable` (from `usable_channels()`) when asking for several forms at once.
    """
    usable = usable_channels() if usable is None else usable
    written = [
        (value, label)
        for value, label in Channel.choices
        if value not in SPOKEN and value in usable
    ]
    return [*written, *_SPOKEN_LABELS.items()]


def reply_channel_for(case: Case, usable: frozenset[str] | None = None) -> str:
    """The channel a message on this case goes out on unless staff pick another.

    The one the customer used last (their latest written message to us on any
    case), else the one the case came in on, else their preferred one; the first
    of those we can answer on, and email when none is. A call they made does
    not count as "used last": answering by phone sends nothing, so a step taken
    without a channel (through the API, say) would silently reach nobody.
    """
    offered = {value for value, _ in message_channels(usable)}
    last = (
        Interaction.objects.filter(
            customer_id=case.customer_id, direction=Interaction.Direction.INBOUND
        )
        .exclude(channel__in=SPOKEN)
        .order_by("-occurred_at", "-id")
        .values_list("channel", flat=True)
        .first()
    )
    for candidate in (last, case.channel, case.customer.preferred_channel):
        if candidate in offered:
            return candidate
    return Channel.EMAIL


@dataclass(frozen=True)
class TimerView:
    id: int
    kind: str
    state: str
    due_at: datetime
    started_at: datetime
    met_at: datetime | None
    breached_at: datetime | None
    paused: bool
    seconds_left: int | None
    escalation_level: int


def case_timers(*, case: Case, now: datetime | None = None) -> list[TimerView]:
    """Every timer of the case with its time left (negative when overdue)."""
    now = now or timezone.now()
    rows = (
        Timer.objects.for_subject("case", case.pk)
        .exclude(state=Timer.State.CANCELLED)
        .order_by("started_at", "id")
    )
    return [_timer_view(t, now) for t in rows]


def case_events(*, case: Case) -> QuerySet[CaseEvent]:
    """The case's timeline, joined with the timelines of the duplicates merged into it.

    The cases are picked first (by id and by merged_into, both indexed), then
    their events through the (case, at) index: an OR across the join would
    scan every event and every case.
    """
    cases = Case.objects.filter(Q(pk=case.pk) | Q(merged_into=case)).values("pk")
    return (
        CaseEvent.objects.filter(case_id__in=cases)
        .select_related("actor", "token", "interaction")
        .order_by("at", "id")
    )


def cases_inbox(*, user: User | AnonymousUser, scope: str = "mine") -> QuerySet[Case]:
    """Open cases for the inbox, the one with the soonest-due unmet timer first.

    `next_due` is the earliest due time among the case's running or breached
    timers not yet met (in the past when overdue); cases with none sort last.
    """
    if not isinstance(user, User):
        return Case.objects.none()
    rows = Case.objects.open().select_related("customer", "assignee", "team", "site")
    if scope == "mine":
        rows = rows.filter(assignee=user)
    elif scope == "team":
        rows = rows.for_user(user)
    next_due = (
        Timer.objects.filter(
            subject_type="case",
            subject_id=OuterRef("pk"),
            met_at__isnull=True,
            state__in=[Timer.State.RUNNING, Timer.State.BREACHED],
        )
        .order_by("due_at")
        .values("due_at")[:1]
    )
    return rows.annotate(next_due=Subquery(next_due)).order_by(
        F("next_due").asc(nulls_last=True), "-created_at", "-id"
    )


def _timer_view(t: Timer, now: datetime) -> TimerView:
    if t.state == Timer.State.PAUSED:
        left: int | None = t.remaining_seconds
    elif t.met_at is None and t.state in {Timer.State.RUNNING, Timer.State.BREACHED}:
        left = int((t.due_at - now).total_seconds())
    else:
        left = None
    return TimerView(
        id=t.pk,
        kind=t.kind,
        state=t.state,
        due_at=t.due_at,
        started_at=t.started_at,
        met_at=t.met_at,
        breached_at=t.breached_at,
        paused=t.state == Timer.State.PAUSED,
        seconds_left=left,
        escalation_level=t.escalation_level,
    )


def cases_next_timers(*, case_ids: list[int], now: datetime | None = None) -> dict[int, TimerView]:
    """For a page of cases, in one query: the timer each case must beat next.

    That is the soonest-due running or breached timer not yet met; a case with
    none but a paused timer (waiting on the customer) gets the paused one.
    """
    now = now or timezone.now()
    rows = Timer.objects.filter(
        subject_type="case",
        subject_id__in=case_ids,
        met_at__isnull=True,
        state__in=[Timer.State.RUNNING, Timer.State.BREACHED, Timer.State.PAUSED],
    ).order_by("due_at", "id")
    found: dict[int, TimerView] = {}
    for t in rows:
        current = found.get(t.subject_id)
        if current is None or (current.paused and t.state != Timer.State.PAUSED):
            found[t.subject_id] = _timer_view(t, now)
    return found


def cases_inbox_counts(
    *, user: User | AnonymousUser, rows: QuerySet[Case] | None = None
) -> dict[str, int]:
    """How many open cases each inbox scope holds (mine, team, all), in one query."""
    if not isinstance(user, User):
        return {"mine": 0, "team": 0, "all": 0}
    rows = Case.objects.open() if rows is None else rows
    mine = Q(assignee=user)
    team = mine | Q(team_id=user.team_id) if getattr(user, "team_id", None) else mine
    return rows.aggregate(
        mine=Count("pk", filter=mine), team=Count("pk", filter=team), all=Count("pk")
    )


def case_colleagues_viewing(
    *, case: Case, user: object, now: datetime | None = None
) -> list[CaseViewer]:
    """Other staff who opened the case within CASE_PRESENCE_MINUTES, latest first."""
    from datetime import timedelta

    from django.conf import settings

    since = (now or timezone.now()) - timedelta(minutes=settings.CASE_PRESENCE_MINUTES)
    rows = CaseViewer.objects.filter(case_id=case.pk, seen_at__gte=since).select_related("user")
    user_id = getattr(user, "pk", None)
    if user_id is not None:
        rows = rows.exclude(user_id=user_id)
    return list(rows.order_by("-seen_at"))
