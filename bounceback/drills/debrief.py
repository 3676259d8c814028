"""The after-action debrief, written by itself when a drill ends.

Stored on `Drill.debrief` as JSON so it reads the same later, whatever
happens to the playbook or the cases:

- `timeline`: [{at (ISO), what, who}] from the drill's log and its cases' timelines
- `slow`: [text] each target missed, worst first
- `coaching`: [{case, person, score, notes: [text]}] the apology coach's findings
- `strengths` / `improve`: [text] from the team's ratings
- `suggested_improvements`: [{kind, text}] that drill_end turns into plan items
- `captured`: how many messages the outbox kept from leaving the sandbox
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bounceback.drills.models import Drill, DrillScore, ImprovementItem, Objective, Rating
from bounceback.drills.scoring import case_facts, minutes_late

TIMELINE_MAX = 200


def _coaching(drill: Drill) -> list[dict[str, Any]]:
    """Re-read each apology sent in the drill with the coach, for its suggestions."""
    from bounceback.coach.scoring import CoachContext, coach_score
    from bounceback.interactions.models import Interaction

    rows = (
        Interaction.objects.filter(
            case__drill=drill,
            direction=Interaction.Direction.OUTBOUND,
            metadata__purpose="apology",
        )
        .select_related("case", "author")
        .order_by("occurred_at", "id")
    )
    notes = []
    for row in rows:
        case = row.case
        assert case is not None
        result = coach_score(
            text=row.body,
            context=CoachContext(summary=case.summary, description=case.description),
        )
        found = [f.suggestion or f.message for f in result.findings if f.kind != "good"]
        praise = [f.message for f in result.findings if f.kind == "good"]
        notes.append(
            {
                "case": case.reference,
                "person": str(row.author) if row.author_id else "",
                "score": result.score,
                "notes": found[:4],
                "praise": praise[:2],
            }
        )
    return notes


def debrief_build(drill: Drill, *, now: datetime) -> dict[str, Any]:
    """The debrief of an ending drill (its scores are written already or passed in)."""
    from bounceback.cases.models import CaseEvent
    from bounceback.outbox.models import OutboundMessage

    facts = case_facts(drill)
    timeline: list[dict[str, Any]] = [
        {"at": e.at.isoformat(), "what": e.text, "who": str(e.author) if e.author_id else ""}
        for e in drill.log.select_related("author").order_by("at", "id")
    ]
    events = (
        CaseEvent.objects.filter(case__drill=drill)
        .exclude(kind__in=[CaseEvent.Kind.OPENED])
        .select_related("case")
        .order_by("at", "id")[:TIMELINE_MAX]
    )
    timeline += [
        {"at": e.at.isoformat(), "what": f"{e.case.reference}: {e.summary}", "who": e.actor_label}
        for e in events
    ]
    timeline.sort(key=lambda row: row["at"])

    slow: list[tuple[float, str]] = []
    for fact in facts:
        for what, took, target in minutes_late(fact):
            slow.append(
                (
                    took - target,
                    f"{fact.case.reference} ({fact.inject.get_persona_display()}): {what} after "
                    f"{took:.0f} min, target {target}",
                )
            )
        if fact.apologised_at is None:
            slow.append((1e9, f"{fact.case.reference} ({fact.inject.customer_name}): no apology"))
    for action in drill.actions.all():
        started = drill.started_at or now
        if action.done_at is None:
            slow.append((1e8, f"Checklist: {action.title} not done"))
        else:
            took = (action.done_at - started).total_seconds() / 60
            if took > action.target_minutes:
                slow.append(
                    (
                        took - action.target_minutes,
                        f"Checklist: {action.title} after {took:.0f} min, "
                        f"target {action.target_minutes}",
                    )
                )
    slow.sort(key=lambda pair: -pair[0])

    team: list[DrillScore] = list(DrillScore.objects.filter(drill=drill, user__isnull=True))
    labels = dict(Objective.choices)
    strengths = [
        f"{labels[s.objective]}: {s.measure}" for s in team if s.rating in (Rating.P, Rating.S)
    ]
    improve = [
        f"{labels[s.objective]}: {s.measure}" for s in team if s.rating in (Rating.M, Rating.U)
    ]
    suggested = []
    for s in team:
        if s.rating not in (Rating.M, Rating.U):
            continue
        if s.objective == Objective.CHECKLIST:
            suggested.append(
                {
                    "kind": ImprovementItem.Kind.PLAYBOOK_REVISION,
                    "text": "Make the late checklist actions' owners and targets clearer",
                }
            )
        else:
            suggested.append(
                {
                    "kind": ImprovementItem.Kind.TRAINING,
                    "text": f"Practise: {labels[s.objective].lower()} ({s.measure})",
                }
            )
    captured = OutboundMessage.objects.filter(
        customer__drill=drill, state=OutboundMessage.State.CAPTURED
    ).count()
    return {
        "timeline": timeline,
        "slow": [text for _, text in slow],
        "coaching": _coaching(drill),
        "strengths": strengths,
        "improve": improve,
        "suggested_improvements": suggested,
        "captured": captured,
        "built_at": now.isoformat(),
    }
