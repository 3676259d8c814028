"""The case timeline: the one writer of CaseEvent rows, and of the webhooks they announce.

Rules for callers:
- Case services, the case timers' handlers and other domains (through
  `cases.services.case_record_step`) write one event with `case_event_record`,
  inside their transaction; set-based writers (a breakdown's outreach, through
  cases/bulk.py) write many with `case_events_record_many`. Nothing else
  creates CaseEvent rows.
- Kinds are `CaseEvent.Kind`; the events other systems hear about are in
  WEBHOOK_EVENTS, published here in the same transaction, so a webhook is
  recorded exactly when its event is.
- Who acted comes from an Actor (bounceback.actors): the person responsible,
  the label, and the API token when one acted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.bulk import bulk_insert
from bounceback.cases.models import Case, CaseEvent
from bounceback.interactions.models import Interaction
from bounceback.webhooks.events import case_payload, webhook_publish, webhook_publish_many

Kind = CaseEvent.Kind

# Timeline events other systems hear about (webhooks out), by kind.
WEBHOOK_EVENTS: dict[str, str] = {
    Kind.OPENED: "case.opened",
    Kind.APOLOGISED: "case.apologised",
    Kind.FIXED: "case.fixed",
    Kind.CLOSED: "case.closed",
    Kind.REOPENED: "case.reopened",
    Kind.TIMER_BREACHED: "case.breached",
}
SUMMARY_MAX = 300


def case_event_record(
    case: Case,
    *,
    kind: str,
    summary: str,
    actor: ActorLike = None,
    data: dict[str, Any] | None = None,
    interaction: Interaction | None = None,
    at: datetime | None = None,
    webhook_data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Write one line of the case's timeline (and its webhook, for the kinds that have one).

    `webhook_data` adds keys to the event's webhook payload beside the case.
    Reads the case's customer for the payload; lock the case first.
    """
    who = actor_of(actor)
    # A drill's case is the sandbox: other systems never hear of it.
    if kind in WEBHOOK_EVENTS and case.drill_id is None:
        webhook_publish(
            event=WEBHOOK_EVENTS[kind], payload={**case_payload(case), **(webhook_data or {})}
        )
    return CaseEvent.objects.create(
        case=case,
        kind=Kind(kind),
        summary=summary[:SUMMARY_MAX],
        actor=who.user,
        actor_label=who.label,
        token=who.token,
        data=data or {},
        interaction=interaction,
        at=at or timezone.now(),
    )


@dataclass(frozen=True)
class NewCaseEvent:
    """One event of a set-based write: which case, what happened, the message it sent."""

    case_id: int
    kind: str
    summary: str
    interaction_id: int | None = None
    # This event's own `data`, in place of the one the events share.
    data: dict[str, Any] | None = None


def case_events_record_many(
    events: Sequence[NewCaseEvent],
    *,
    actor: ActorLike,
    at: datetime,
    data: dict[str, Any],
    payloads: Mapping[int, dict[str, Any]],
) -> None:
    """Write many timeline lines that share who, when and `data` (unless an event brings
    its own), set-based.

    `payloads` gives each case's webhook payload (`case_payload`'s shape),
    for the kinds that publish one; other systems hear about a case opened by
    an outreach exactly as about one opened by hand.
    """
    if not events:
        return
    who = actor_of(actor)
    varying: dict[str, list[Any]] = {
        "case_id": [e.case_id for e in events],
        "kind": [Kind(e.kind).value for e in events],
        "summary": [e.summary[:SUMMARY_MAX] for e in events],
        "interaction_id": [e.interaction_id for e in events],
    }
    constant: dict[str, Any] = {
        "at": at,
        "actor_id": who.user.pk if who.user is not None else None,
        "actor_label": who.label,
        "token_id": who.token.pk if who.token is not None else None,
    }
    if any(e.data is not None for e in events):
        varying["data"] = [e.data if e.data is not None else data for e in events]
    else:
        constant["data"] = data
    bulk_insert(CaseEvent, varying=varying, constant=constant, now=at)
    by_hook: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        hook = WEBHOOK_EVENTS.get(event.kind)
        if hook is not None:
            by_hook.setdefault(hook, []).append(payloads[event.case_id])
    for hook, hook_payloads in by_hook.items():
        webhook_publish_many(event=hook, payloads=hook_payloads)
