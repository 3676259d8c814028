"""Reads for the drill pages and API: the library, a drill's live state, readiness
and its trend, coverage of playbooks, and the messages a drill kept in the sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bounceback.drills.models import Drill, DrillInject, DrillScore, Scenario
from bounceback.drills.scoring import readiness_at

if TYPE_CHECKING:
    from bounceback.accounts.models import Team
    from bounceback.charts.svg import Chart
    from bounceback.outbox.models import OutboundMessage
    from bounceback.playbooks.models import Playbook

# A playbook not drilled for this long shows as stale on the coverage report.
STALE_DAYS = 60


def scenario_library() -> QuerySet[Scenario]:
    """Every scenario with its playbook, failure mode, injects (prefetched) and drill count."""
    return (
        Scenario.objects.select_related("playbook", "failure_mode")
        .prefetch_related("injects")
        .annotate(
            drill_count=Count("drills", distinct=True),
            last_drilled=Max("drills__ended_at"),
        )
        .order_by("playbook__name", "title", "id")
    )


def drills_list(*, state: str = "") -> QuerySet[Drill]:
    rows = Drill.objects.select_related("playbook", "scenario", "facilitator", "team")
    if state:
        rows = rows.filter(state=state)
    return rows


def drill_detail(pk: int) -> Drill | None:
    """A drill with what its page shows beside it, read in a fixed number of queries."""
    return (
        Drill.objects.select_related("playbook", "scenario", "facilitator", "team")
        .prefetch_related(
            Prefetch(
                "injects",
                queryset=DrillInject.objects.select_related("case", "case__assignee").order_by(
                    "position"
                ),
            ),
            "participants__user",
            "actions__done_by",
            "log__author",
            Prefetch(
                "scores",
                queryset=DrillScore.objects.select_related("user", "adjusted_by").order_by(
                    "user_id", "id"
                ),
            ),
            "improvements__owner",
        )
        .filter(pk=pk)
        .first()
    )


def drill_captured(drill: Drill) -> QuerySet[OutboundMessage]:
    """The messages the drill's cases would have sent: kept by the outbox, never delivered."""
    from bounceback.outbox.models import OutboundMessage

    return OutboundMessage.objects.filter(customer__drill=drill).order_by("created_at", "id")


def drill_sent_outside(drill: Drill) -> int:
    """Messages of the drill that left the sandbox: must always be 0."""
    from bounceback.outbox.models import OutboundMessage

    return (
        drill_captured(drill)
        .exclude(state=OutboundMessage.State.CAPTURED)
        .filter(Q(state=OutboundMessage.State.SENT) | Q(sent_at__isnull=False))
        .count()
    )


def active_drill_for_case(case_id: int, drill_id: int | None) -> Drill | None:
    """The drill a case belongs to, for the banner on its page (None for real cases)."""
    if drill_id is None:
        return None
    return Drill.objects.filter(pk=drill_id).only("id", "title", "state").first()


@dataclass(frozen=True)
class ScoreRow:
    person: str
    scores: dict[str, DrillScore]


def score_table(drill: Drill) -> list[ScoreRow]:
    """The team's row first, then each person's, objectives as columns."""
    rows: dict[int | None, ScoreRow] = {}
    for s in drill.scores.all():
        key = s.user_id
        if key not in rows:
            rows[key] = ScoreRow(person="Team" if s.user is None else str(s.user), scores={})
        rows[key].scores[s.objective] = s
    team = rows.pop(None, None)
    return ([team] if team else []) + sorted(rows.values(), key=lambda r: r.person)


def debrief_timeline(drill: Drill) -> list[dict[str, Any]]:
    """The debrief's timeline with its times as datetimes (the page shows them in the
    viewer's time zone)."""
    rows = []
    for row in drill.debrief.get("timeline", []):
        at = parse_datetime(str(row.get("at", "")))
        rows.append({**row, "at": at})
    return rows


# --- Readiness and coverage ----------------------------------------------------------------


def _ended(playbook_ids: list[int] | None = None, team: Team | None = None) -> QuerySet[Drill]:
    rows = Drill.objects.filter(state=Drill.State.ENDED, readiness__isnull=False)
    if playbook_ids is not None:
        rows = rows.filter(playbook_id__in=playbook_ids)
    if team is not None:
        rows = rows.filter(team=team)
    return rows


def readiness_now(
    drills: list[tuple[int | None, datetime | None]], *, at: datetime
) -> float | None:
    """Readiness at `at` from (score, ended_at) of drills: the best decayed value."""
    values = [readiness_at(score, ended_at=ended, at=at) for score, ended in drills if ended]
    values = [v for v in values if v or v == 0.0]
    return max(values) if values else None


@dataclass
class CoverageRow:
    playbook: Playbook
    high_risk: bool
    drills: int = 0
    last_drilled: datetime | None = None
    readiness: float | None = None
    scheduled: datetime | None = None
    history: list[tuple[int | None, datetime | None]] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.last_drilled is None:
            return "never"
        if timezone.now() - self.last_drilled > timedelta(days=STALE_DAYS):
            return "stale"
        return "current"


def coverage(*, now: datetime | None = None) -> list[CoverageRow]:
    """Every live playbook: drilled how often, when last, its readiness now and its next
    scheduled drill; never-drilled and stale ones first, high risk before the rest
    (four queries)."""
    from bounceback.failuremodes.selectors import is_high_risk
    from bounceback.playbooks.models import Playbook

    now = now or timezone.now()
    playbooks = list(Playbook.objects.filter(archived=False).select_related("failure_mode"))
    rows = {
        p.pk: CoverageRow(
            playbook=p,
            high_risk=p.failure_mode is not None and is_high_risk(p.failure_mode),
        )
        for p in playbooks
    }
    for pk, score, ended in _ended().values_list("playbook_id", "readiness", "ended_at"):
        row = rows.get(pk)
        if row is None:
            continue
        row.drills += 1
        row.history.append((score, ended))
        if ended and (row.last_drilled is None or ended > row.last_drilled):
            row.last_drilled = ended
    upcoming = (
        Drill.objects.filter(state=Drill.State.SCHEDULED, scheduled_for__gte=now)
        .values("playbook_id")
        .annotate(first=Max("scheduled_for"))
    )
    for item in upcoming:
        if item["playbook_id"] in rows:
            rows[item["playbook_id"]].scheduled = item["first"]
    for row in rows.values():
        row.readiness = readiness_now(row.history, at=now)
    order = {"never": 0, "stale": 1, "current": 2}
    return sorted(rows.values(), key=lambda r: (order[r.status], not r.high_risk, r.playbook.name))


@dataclass(frozen=True)
class TrendPoint:
    at: datetime
    readiness: float


def readiness_trend(
    *,
    playbook: Playbook | None = None,
    team: Team | None = None,
    days: int = 90,
    now: datetime | None = None,
) -> list[TrendPoint]:
    """Daily readiness over the last `days` (the best decayed drill score at each day)."""
    now = now or timezone.now()
    drills = _ended([playbook.pk] if playbook is not None else None, team=team)
    history = list(drills.values_list("readiness", "ended_at"))
    points = []
    for d in range(days, -1, -1):
        at = now - timedelta(days=d)
        value = readiness_now([(s, e) for s, e in history if e and e <= at], at=at)
        points.append(TrendPoint(at=at, readiness=value or 0.0))
    return points


def readiness_chart(points: list[TrendPoint], *, title: str) -> Chart:
    """The trend as an accessible SVG line (bounceback/charts/svg.py), 0..100%: each
    drill lifts it, and it falls to a quarter of a drill's score DECAY_DAYS after."""
    from bounceback.charts.svg import Series, step_chart

    days = len(points) - 1
    series = Series(
        label="Readiness",
        points=[(float(i), p.readiness / 100) for i, p in enumerate(points)],
    )
    chart = step_chart(
        title=title,
        series=[series],
        x_label=f"days since {points[0].at:%-d %b %Y}" if points else "days",
        y_label="Readiness",
        x_max=float(days) or 1.0,
    )
    return chart
