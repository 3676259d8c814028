"""Reading the catalog: real case counts beside the estimates, and playbook coverage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.errors import ValidationFailed
from bounceback.failuremodes.models import FailureMode, FailureModeVote, Touchpoint
from bounceback.failuremodes.scales import Observed, observe

if TYPE_CHECKING:
    from bounceback.sites.models import Site

PERIODS = (30, 90, 365)
DEFAULT_PERIOD = 90

# Coverage: a failure mode is high risk when its RPN reaches the threshold, or
# whatever its RPN when its severity is 9 or 10 (FMEA practice: a failure that
# hurts that much needs a plan even if it is rare and easy to spot).
DEFAULT_RPN_THRESHOLD = 100
HIGH_SEVERITY = 9


@dataclass
class CatalogEntry:
    mode: FailureMode
    observed: Observed
    votes_up: int = 0
    votes_down: int = 0
    my_vote: int | None = None

    @property
    def vote_score(self) -> int:
        return self.votes_up - self.votes_down


@dataclass
class CatalogStage:
    touchpoint: Touchpoint
    entries: list[CatalogEntry] = field(default_factory=list)


def _count(queryset: Any, column: str = "pk") -> Coalesce:
    """A correlated COUNT per failure mode, so several can sit on one row without multiplying.

    `column` is what is counted (never NULL in the rows counted): for cases the
    mode itself, so the count reads case_failure_mode_period_idx alone."""
    counted = queryset.values("failure_mode").annotate(n=Count(column)).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _occurrences(queryset: Any) -> Coalesce:
    """A correlated count of occurrences per failure mode: each case without a
    breakdown once, and each breakdown once however many of its cases there are
    (from the columns of case_failure_mode_period_idx alone)."""
    counted = (
        queryset.values("failure_mode")
        .annotate(
            n=Count("failure_mode", filter=Q(breakdown__isnull=True))
            + Count("breakdown", distinct=True)
        )
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def check_period(period_days: int) -> int:
    if isinstance(period_days, bool) or not isinstance(period_days, int):
        raise ValidationFailed("period_days must be a whole number of days", field="period_days")
    if not 1 <= period_days <= 3650:
        raise ValidationFailed("period_days must be from 1 to 3650", field="period_days")
    return period_days


def observed_days(*, period_days: int, now: datetime) -> float:
    """The part of the period Bounceback actually recorded cases in.

    A catalog started last month has not "seen zero cases in a year": counting
    from the first case ever opened keeps young databases from flagging every
    estimate as too high.
    """
    first = Case.objects.order_by("created_at").values_list("created_at", flat=True).first()
    if first is None:
        return 0.0
    since = now - timedelta(days=period_days)
    start = max(since, first)
    return max(0.0, (now - start).total_seconds() / 86400)


def catalog(
    *,
    period_days: int = DEFAULT_PERIOD,
    site: Site | None = None,
    touchpoint: Touchpoint | None = None,
    status: str | Iterable[str] | None = FailureMode.Status.ACCEPTED,
    viewer: Any = None,
    failure_mode_id: int | None = None,
    now: datetime | None = None,
) -> list[CatalogEntry]:
    """Failure modes in journey order, each with its real case count over the period.

    `site` keeps the modes of that site's touchpoints and of the all-site ones;
    counts are over every case linked to the mode, whatever its site. `status`
    is one status, several, or None for all. One query for the modes (cases
    and votes are counted by correlated subqueries) plus one for the start of
    the case history.
    """
    period_days = check_period(period_days)
    now = now or timezone.now()
    since = now - timedelta(days=period_days)
    rows = FailureMode.objects.select_related("touchpoint__site", "proposed_by", "decided_by")
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        bad = [s for s in statuses if s not in FailureMode.Status.values]
        if bad:
            raise ValidationFailed(
                f"status must be one of {', '.join(FailureMode.Status.values)}", field="status"
            )
        rows = rows.filter(status__in=statuses)
    if site is not None:
        rows = rows.filter(Q(touchpoint__site=site) | Q(touchpoint__site__isnull=True))
    if touchpoint is not None:
        rows = rows.filter(touchpoint=touchpoint)
    if failure_mode_id is not None:
        rows = rows.filter(pk=failure_mode_id)
    votes = FailureModeVote.objects.filter(failure_mode=OuterRef("pk"))
    # A drill's cases are practice: they never make a failure mode look commoner.
    in_period = Case.objects.real().filter(
        failure_mode=OuterRef("pk"), created_at__gte=since, created_at__lte=now
    )
    rows = rows.annotate(
        case_count=_count(in_period, "failure_mode"),
        occurrence_count=_occurrences(in_period),
        votes_up=_count(votes.filter(value=1)),
        votes_down=_count(votes.filter(value=-1)),
    )
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        rows = rows.annotate(my_vote=Subquery(votes.filter(voter=viewer).values("value")[:1]))
    rows = rows.order_by(
        "touchpoint__position", "touchpoint__name", "touchpoint_id", "-rpn", "title"
    )
    days = observed_days(period_days=period_days, now=now)
    return [
        CatalogEntry(
            mode=mode,
            observed=observe(
                estimate=mode.occurrence,
                cases=mode.occurrence_count,
                customers=mode.case_count,
                days=days,
            ),
            votes_up=mode.votes_up,
            votes_down=mode.votes_down,
            my_vote=getattr(mode, "my_vote", None),
        )
        for mode in rows
    ]


def catalog_by_touchpoint(entries: list[CatalogEntry]) -> list[CatalogStage]:
    """Group catalog entries under their touchpoints, keeping journey order."""
    stages: list[CatalogStage] = []
    for entry in entries:
        if not stages or stages[-1].touchpoint.pk != entry.mode.touchpoint_id:
            stages.append(CatalogStage(touchpoint=entry.mode.touchpoint))
        stages[-1].entries.append(entry)
    return stages


def touchpoints(*, site: Site | None = None) -> list[Touchpoint]:
    rows = Touchpoint.objects.select_related("site")
    if site is not None:
        rows = rows.filter(Q(site=site) | Q(site__isnull=True))
    return list(rows.order_by("position", "name", "id"))


def failure_mode_detail(*, pk: int) -> FailureMode | None:
    return (
        FailureMode.objects.select_related("touchpoint__site", "proposed_by", "decided_by")
        .annotate(
            votes_up=Coalesce(Count("votes", filter=Q(votes__value=1)), 0),
            votes_down=Coalesce(Count("votes", filter=Q(votes__value=-1)), 0),
            vote_total=Coalesce(Sum("votes__value"), 0),
        )
        .filter(pk=pk)
        .first()
    )


# --- Coverage ----------------------------------------------------------------------------------


@dataclass
class CoverageRow:
    mode: FailureMode
    playbooks: list[Any]
    high_risk: bool

    @property
    def gap(self) -> bool:
        return self.high_risk and not self.playbooks


@dataclass
class Coverage:
    rows: list[CoverageRow]
    threshold: int

    @property
    def gaps(self) -> list[CoverageRow]:
        return [r for r in self.rows if r.gap]

    @property
    def high_risk(self) -> int:
        return sum(1 for r in self.rows if r.high_risk)

    @property
    def covered(self) -> int:
        return sum(1 for r in self.rows if r.playbooks)


def check_threshold(threshold: int) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= 1000:
        raise ValidationFailed("threshold must be an RPN from 1 to 1000", field="threshold")
    return threshold


def is_high_risk(mode: FailureMode, *, threshold: int = DEFAULT_RPN_THRESHOLD) -> bool:
    return mode.rpn >= threshold or mode.severity >= HIGH_SEVERITY


def coverage(*, threshold: int = DEFAULT_RPN_THRESHOLD, site: Site | None = None) -> Coverage:
    """Accepted failure modes by risk, each with its live playbooks (two queries).

    The high-risk ones with no playbook are the planning gaps.
    """
    from bounceback.playbooks.models import Playbook

    threshold = check_threshold(threshold)
    rows = (
        FailureMode.objects.accepted()
        .select_related("touchpoint__site")
        .prefetch_related(
            Prefetch(
                "playbooks",
                queryset=Playbook.objects.filter(archived=False).order_by("name"),
                to_attr="live_playbooks",
            )
        )
    )
    if site is not None:
        rows = rows.filter(Q(touchpoint__site=site) | Q(touchpoint__site__isnull=True))
    return Coverage(
        rows=[
            CoverageRow(
                mode=mode,
                playbooks=list(mode.live_playbooks),  # type: ignore[attr-defined]
                high_risk=is_high_risk(mode, threshold=threshold),
            )
            for mode in rows.by_risk()
        ],
        threshold=threshold,
    )


def accepted_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    """Accepted failure modes grouped by touchpoint, for a case's select (one query)."""
    groups: list[tuple[str, list[tuple[int, str]]]] = []
    rows = (
        FailureMode.objects.accepted()
        .select_related("touchpoint__site")
        .order_by("touchpoint__position", "touchpoint__name", "touchpoint_id", "title")
    )
    last = None
    for mode in rows:
        if mode.touchpoint_id != last:
            tp = mode.touchpoint
            label = f"{tp.name} ({tp.site.name})" if tp.site_id and tp.site else tp.name
            groups.append((label, []))
            last = mode.touchpoint_id
        groups[-1][1].append((mode.pk, mode.title))
    return groups
