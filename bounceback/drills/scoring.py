"""Measuring a drill: each objective per responder and for the team, rated P/S/M/U.

Everything is read from the sandbox rows the drill made (its cases, their
timeline, gestures and timers) and from the drill's checklist, in a fixed
number of queries. The readiness score is the mean of the team's rated
objectives (P 100, S 70, M 40, U 0) and decays when the playbook is not
practised: a quarter of its value after DECAY_DAYS (see `readiness_at`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import TYPE_CHECKING

from bounceback.drills.models import (
    RATING_POINTS,
    Drill,
    DrillAction,
    DrillInject,
    DrillScore,
    Objective,
    Rating,
)

if TYPE_CHECKING:
    from bounceback.cases.models import Case

DECAY_DAYS = 30
DECAY_TO = 0.25  # of its value after DECAY_DAYS


def rating_for(met: float | None) -> str:
    """P at 90% of chances met, S at 70%, M at 40%, else U; blank when nothing to rate."""
    if met is None:
        return ""
    if met >= 0.9:
        return Rating.P
    if met >= 0.7:
        return Rating.S
    if met >= 0.4:
        return Rating.M
    return Rating.U


def readiness_of(scores: Iterable[DrillScore]) -> int | None:
    """Mean points of the rated objectives (None when none was rated)."""
    points = [RATING_POINTS[Rating(s.rating)] for s in scores if s.rating]
    return round(sum(points) / len(points)) if points else None


def readiness_at(score: int | None, *, ended_at: datetime | None, at: datetime) -> float:
    """A drill's readiness as it stands at `at`: DECAY_TO of it after DECAY_DAYS."""
    if score is None or ended_at is None or at < ended_at:
        return 0.0
    days = (at - ended_at).total_seconds() / 86400
    return float(score) * DECAY_TO ** (days / DECAY_DAYS)


@dataclass
class _Chances:
    """How many chances an objective had and how many were met, with the times seen."""

    total: int = 0
    met: int = 0
    minutes: list[float] = field(default_factory=list)

    def add(self, ok: bool, minutes: float | None = None) -> None:
        self.total += 1
        self.met += int(ok)
        if minutes is not None:
            self.minutes.append(minutes)

    @property
    def share(self) -> float | None:
        return self.met / self.total if self.total else None


@dataclass(frozen=True)
class Measured:
    scores: list[DrillScore]
    readiness: int | None


@dataclass(frozen=True)
class CaseFacts:
    """What one inject's case shows, for the scores and the debrief."""

    inject: DrillInject
    case: Case
    acknowledged_at: datetime | None
    apologised_at: datetime | None
    apology_score: int | None
    update_times: list[datetime]
    follow_up_scheduled: bool
    gestures: int
    gestures_outside_policy: int


def case_facts(drill: Drill) -> list[CaseFacts]:
    """Each delivered inject with its case's timeline facts (four queries)."""
    from bounceback.cases.models import CaseEvent
    from bounceback.funds.models import Grant
    from bounceback.timers.models import Timer

    injects = list(
        drill.injects.filter(case__isnull=False).select_related("case").order_by("position")
    )
    ids = [i.case_id for i in injects if i.case_id is not None]
    first_touch: dict[int, datetime] = {}
    updates: dict[int, list[datetime]] = {}
    events = CaseEvent.objects.filter(case_id__in=ids, actor__isnull=False).exclude(
        kind=CaseEvent.Kind.OPENED
    )
    for case_id, kind, at in events.order_by("at", "id").values_list("case_id", "kind", "at"):
        first_touch.setdefault(case_id, at)
        if kind == CaseEvent.Kind.UPDATE_SENT:
            updates.setdefault(case_id, []).append(at)
    follow_ups = set(
        Timer.objects.filter(subject_type="case", subject_id__in=ids, kind="follow_up").values_list(
            "subject_id", flat=True
        )
    )
    gestures: dict[int, list[bool]] = {}
    for case_id, outside in Grant.objects.filter(case_id__in=ids).values_list(
        "case_id", "exception_to_policy"
    ):
        gestures.setdefault(case_id, []).append(outside)
    facts = []
    for inject in injects:
        case = inject.case
        assert case is not None
        made = gestures.get(case.pk, [])
        facts.append(
            CaseFacts(
                inject=inject,
                case=case,
                acknowledged_at=first_touch.get(case.pk),
                apologised_at=case.apologised_at,
                apology_score=case.apology_score,
                update_times=updates.get(case.pk, []),
                follow_up_scheduled=case.pk in follow_ups or case.follow_up_sent_at is not None,
                gestures=len(made),
                gestures_outside_policy=sum(1 for outside in made if outside),
            )
        )
    return facts


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def _cadence_kept(fact: CaseFacts, *, until: datetime, every: int) -> bool:
    """Fixed, or updated, within `every` minutes of the apology and of each update since."""
    if fact.apologised_at is None:
        return False
    end = fact.case.fixed_at or until
    marks = [fact.apologised_at, *[t for t in fact.update_times if t <= end], end]
    return all(_minutes(a, b) <= every + 0.5 for a, b in itertools.pairwise(marks))


def _objectives(
    facts: Sequence[CaseFacts],
    actions: Sequence[DrillAction],
    *,
    started: datetime,
    now: datetime,
    threshold: int,
    update_every: int,
) -> dict[str, tuple[_Chances, str]]:
    ack, apol, quality, cadence, gestures, follow = (_Chances() for _ in range(6))
    for f in facts:
        delivered = f.inject.delivered_at or started
        if f.acknowledged_at is not None:
            took = _minutes(delivered, f.acknowledged_at)
            ack.add(took <= f.inject.acknowledge_minutes, took)
        else:
            ack.add(False)
        if f.apologised_at is not None:
            took = _minutes(delivered, f.apologised_at)
            apol.add(took <= f.inject.apologise_minutes, took)
            quality.add((f.apology_score or 0) >= threshold)
            cadence.add(_cadence_kept(f, until=now, every=update_every))
        else:
            apol.add(False)
        for i in range(f.gestures):
            gestures.add(i >= f.gestures_outside_policy)
        if f.case.fixed_at is not None:
            follow.add(f.follow_up_scheduled)
    checklist = _Chances()
    for a in actions:
        if a.done_at is not None:
            took = _minutes(started, a.done_at)
            checklist.add(took <= a.target_minutes, took)
        else:
            checklist.add(False)

    def timed(c: _Chances, target: str) -> str:
        if not c.total:
            return "nothing to measure"
        text = f"{c.met} of {c.total} within {target}"
        if c.minutes:
            text += f"; median {median(c.minutes):.0f} min"
        return text

    def counted(c: _Chances, what: str) -> str:
        return f"{c.met} of {c.total} {what}" if c.total else "nothing to measure"

    return {
        Objective.ACKNOWLEDGE: (ack, timed(ack, "the inject's target")),
        Objective.APOLOGISE: (apol, timed(apol, "the inject's target")),
        Objective.APOLOGY_QUALITY: (quality, counted(quality, f"apologies scored {threshold}+")),
        Objective.CADENCE: (cadence, counted(cadence, f"kept {update_every}-minute updates")),
        Objective.CHECKLIST: (checklist, timed(checklist, "their targets")),
        Objective.GESTURES: (gestures, counted(gestures, "gestures within policy")),
        Objective.FOLLOW_UP: (follow, counted(follow, "fixed cases with a follow-up scheduled")),
    }


def drill_measure(drill: Drill, *, now: datetime) -> Measured:
    """Scores for each responder (their assigned cases, their ticked actions) and the team."""
    from bounceback.cases.models import RecoveryPolicy

    policy = RecoveryPolicy.objects.filter(severity="normal").first()
    threshold = policy.apology_threshold if policy else 70
    update_every = policy.update_minutes if policy else 20
    started = drill.started_at or now
    facts = case_facts(drill)
    actions = list(drill.actions.all())
    people = sorted(
        {f.case.assignee_id for f in facts if f.case.assignee_id}
        | {p.user_id for p in drill.participants.filter(role="responder")}
    )
    scores: list[DrillScore] = []
    groups: list[tuple[int | None, list[CaseFacts], list[DrillAction]]] = [
        (None, list(facts), actions)
    ]
    for person in people:
        groups.append(
            (
                person,
                [f for f in facts if f.case.assignee_id == person],
                [a for a in actions if a.done_by_id == person],
            )
        )
    for user_id, mine, ticked in groups:
        measured = _objectives(
            mine,
            ticked if user_id is not None else actions,
            started=started,
            now=now,
            threshold=threshold,
            update_every=update_every,
        )
        for objective, (chances, text) in measured.items():
            # A person is not marked down for checklist actions nobody gave them.
            if user_id is not None and objective == Objective.CHECKLIST and not ticked:
                chances = _Chances()
                text = "ticked no checklist action"
            rating = rating_for(chances.share)
            scores.append(
                DrillScore(
                    drill=drill,
                    user_id=user_id,
                    objective=objective,
                    measure=text[:300],
                    met=chances.share,
                    measured_rating=rating,
                    rating=rating,
                )
            )
    team = [s for s in scores if s.user_id is None]
    return Measured(scores=scores, readiness=readiness_of(team))


def minutes_late(fact: CaseFacts) -> list[tuple[str, float, int]]:
    """(what, minutes taken, target) for each target this inject's case missed."""
    late: list[tuple[str, float, int]] = []
    delivered = fact.inject.delivered_at
    if delivered is None:
        return late
    if fact.acknowledged_at is not None:
        took = _minutes(delivered, fact.acknowledged_at)
        if took > fact.inject.acknowledge_minutes:
            late.append(("acknowledged", took, fact.inject.acknowledge_minutes))
    if fact.apologised_at is not None:
        took = _minutes(delivered, fact.apologised_at)
        if took > fact.inject.apologise_minutes:
            late.append(("apologised", took, fact.inject.apologise_minutes))
    return late


def horizon(now: datetime, days: int) -> list[datetime]:
    """Daily sample points ending at `now`, oldest first."""
    return [now - timedelta(days=d) for d in range(days, -1, -1)]
