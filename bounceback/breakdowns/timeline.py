"""The breakdown's timeline: the one writer of BreakdownEvent rows.

Rules for callers: the breakdown services, its timers' handlers and the
outreach call `record_event` inside their transaction, with a kind from
BreakdownEvent.Kind; who acted comes from an Actor (bounceback.actors).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.breakdowns.models import Breakdown, BreakdownEvent


def record_event(
    breakdown: Breakdown,
    *,
    kind: str,
    summary: str,
    actor: ActorLike = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> BreakdownEvent:
    who = actor_of(actor)
    return BreakdownEvent.objects.create(
        breakdown=breakdown,
        kind=BreakdownEvent.Kind(kind),
        summary=summary[:300],
        actor=who.user,
        actor_label=who.label,
        token=who.token,
        data=data or {},
        at=at or timezone.now(),
    )
