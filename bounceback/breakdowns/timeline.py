"""Writing the breakdown's timeline: one place, for the services and the set-based outreach."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from bounceback.breakdowns.models import Breakdown, BreakdownEvent


def actor_label(actor: Any) -> str:
    """Who did it, as the timeline shows it; a token or the system is "Bounceback"."""
    return str(actor) if actor is not None else "Bounceback"


def person(actor: Any) -> Any:
    """The signed-in user behind `actor`, or None for a token or the system."""
    return actor if getattr(actor, "is_authenticated", False) else None


def record_event(
    breakdown: Breakdown,
    *,
    kind: str,
    summary: str,
    actor: Any = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> BreakdownEvent:
    return BreakdownEvent.objects.create(
        breakdown=breakdown,
        kind=kind,
        summary=summary[:300],
        actor=person(actor),
        actor_label=actor_label(actor)[:200],
        data=data or {},
        at=at or timezone.now(),
    )
