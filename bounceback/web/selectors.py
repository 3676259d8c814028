"""Reads for the landing dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from bounceback.customers.models import Customer
from bounceback.interactions.models import Interaction
from bounceback.transactions.models import Transaction


@dataclass(frozen=True)
class Dashboard:
    customer_count: int
    new_customers_this_week: int
    transactions_this_week: int
    interactions_this_week: int
    week_start: datetime
    recent_interactions: list[Interaction]


def week_start(now: datetime | None = None) -> datetime:
    """Monday 00:00 of the current week, in the business time zone."""
    local = timezone.localtime(now or timezone.now())
    monday = local - timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def dashboard_summary(*, recent: int = 8) -> Dashboard:
    """Counts for this week and the latest interactions: five queries whatever the data size."""
    start = week_start()
    recent_rows = list(
        Interaction.objects.select_related("customer").order_by("-occurred_at", "-id")[:recent]
    )
    return Dashboard(
        # A drill's synthetic customers are nobody's customers.
        customer_count=Customer.objects.real().count(),
        new_customers_this_week=Customer.objects.real().filter(created_at__gte=start).count(),
        transactions_this_week=Transaction.objects.filter(occurred_at__gte=start).count(),
        interactions_this_week=Interaction.objects.filter(occurred_at__gte=start).count(),
        week_start=start,
        recent_interactions=recent_rows,
    )


# --- The home that fits the role (issue 14) ------------------------------------------------

HOME_LIST = 8
DUE_SOON_HOURS = 4


@dataclass
class CaseLine:
    """One case on a home list, with the timer that makes it urgent."""

    case: Any
    due_at: datetime | None
    overdue: bool


@dataclass
class RoleHome:
    """What the home shows first for this person's role; empty parts are not shown."""

    kind: str  # "agent", "lead" or "manager"
    overdue: list[CaseLine] = field(default_factory=list)
    due_soon: list[CaseLine] = field(default_factory=list)
    approvals: list[Any] = field(default_factory=list)
    approvals_count: int = 0
    breached: list[Any] = field(default_factory=list)
    breached_count: int = 0
    unassigned: list[Any] = field(default_factory=list)
    unassigned_count: int = 0
    figures: dict[str, Any] = field(default_factory=dict)


def _home_kind(role: str) -> str:
    if role == "agent":
        return "agent"
    if role == "lead":
        return "lead"
    return "manager"


def _my_urgent(user: Any, now: datetime) -> tuple[list[CaseLine], list[CaseLine]]:
    """The person's open cases with an unmet timer overdue, or due within DUE_SOON_HOURS."""
    from bounceback.cases.models import Case
    from bounceback.timers.models import Timer

    timers = (
        Timer.objects.filter(
            subject_type="case",
            subject_id__in=Case.objects.open().filter(assignee=user).values("pk"),
            met_at__isnull=True,
            state__in=[Timer.State.RUNNING, Timer.State.BREACHED],
            due_at__lte=now + timedelta(hours=DUE_SOON_HOURS),
        )
        .order_by("due_at")
        .values_list("subject_id", "due_at")
    )
    first_due: dict[int, datetime] = {}
    for case_id, due in timers:
        first_due.setdefault(case_id, due)
    cases = Case.objects.in_bulk(list(first_due)[: HOME_LIST * 2])
    overdue: list[CaseLine] = []
    soon: list[CaseLine] = []
    for case_id, due in first_due.items():
        case = cases.get(case_id)
        if case is None:
            continue
        line = CaseLine(case=case, due_at=due, overdue=due <= now)
        (overdue if line.overdue else soon).append(line)
    return overdue[:HOME_LIST], soon[:HOME_LIST]


def _lead_queues(user: Any, home: RoleHome) -> None:
    """Approvals this person may decide, breached and unassigned cases (their team's)."""
    from bounceback.cases.models import Case
    from bounceback.funds.selectors import approval_queue

    approvals = approval_queue(user=user)
    home.approvals_count = approvals.count()
    home.approvals = list(approvals[:HOME_LIST])
    mine = Case.objects.open().select_related("customer", "assignee")
    if getattr(user, "team_id", None):
        mine = mine.filter(Q(team_id=user.team_id) | Q(team__isnull=True))
    breached = mine.breached().order_by("-breach_count", "created_at")
    home.breached_count = breached.count()
    home.breached = list(breached[:HOME_LIST])
    unassigned = mine.filter(assignee__isnull=True).order_by("created_at")
    home.unassigned_count = unassigned.count()
    home.unassigned = list(unassigned[:HOME_LIST])


def recovery_figures(*, now: datetime, days: int = 30) -> dict[str, Any]:
    """The recovery in figures over the last `days`: a few set-based aggregates."""
    from bounceback.cases.models import Case
    from bounceback.funds.models import LedgerEntry

    since = now - timedelta(days=days)
    # Drill cases and gestures are practice: no figure here counts them.
    real = Case.objects.real()
    opened = real.filter(created_at__gte=since)
    counts = opened.aggregate(
        opened=Count("id"),
        proactive=Count("id", filter=Q(proactive=True)),
        apologised=Count("id", filter=Q(apologised_at__isnull=False)),
        breached=Count("id", filter=Q(breach_count__gt=0)),
    )
    answers = real.filter(follow_up_recorded_at__gte=since).aggregate(
        answered=Count("id"),
        satisfied=Count("id", filter=Q(satisfied=True)),
        will_return=Count("id", filter=Q(will_return=True)),
    )
    closed = real.filter(closed_at__gte=since).count()
    from django.conf import settings

    spent = LedgerEntry.objects.filter(
        created_at__gte=since, currency=settings.BOUNCEBACK_CURRENCY, grant__case__drill=None
    ).aggregate(total=Sum("amount"))["total"]

    def share(part: int, whole: int) -> int | None:
        return round(100 * part / whole) if whole else None

    return {
        "days": days,
        "opened": counts["opened"],
        "proactive": counts["proactive"],
        "closed": closed,
        "open_now": real.open().count(),
        "apologised_share": share(counts["apologised"], counts["opened"]),
        "breached_share": share(counts["breached"], counts["opened"]),
        "answered": answers["answered"],
        "satisfied_share": share(answers["satisfied"], answers["answered"]),
        "will_return_share": share(answers["will_return"], answers["answered"]),
        "spent": spent or 0,
        "currency": settings.BOUNCEBACK_CURRENCY,
    }


def role_home(*, user: Any, now: datetime | None = None) -> RoleHome:
    """The home's first part for the person's role: an agent's overdue and due-soon cases;
    a lead's approvals, breaches and unassigned cases; managers' and executives' (and
    administrators') recovery figures. A fixed number of queries whatever the data."""
    now = now or timezone.now()
    home = RoleHome(kind=_home_kind(getattr(user, "role", "agent")))
    if not user.has_perm("cases.view_case"):
        return home
    home.overdue, home.due_soon = _my_urgent(user, now)
    if home.kind in ("lead", "manager"):
        _lead_queues(user, home)
    if home.kind == "manager":
        home.figures = recovery_figures(now=now)
    return home
