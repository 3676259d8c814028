"""Who reacts when a timer warns, falls due or escalates.

Each subject type ("case", later "approval", "breakdown_action") registers one
handler. A handler runs inside the transaction that advanced the timer, so its
writes (events, notifications, outbox rows) commit together with the timer's
new state, or not at all. Handlers must therefore only write to the database;
anything that leaves the building goes through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bounceback.timers.models import Timer

TimerEvent = Literal["warn", "breach", "escalate"]
Handler = Callable[["Timer", TimerEvent], None]

_HANDLERS: dict[str, Handler] = {}


def register(subject_type: str, handler: Handler) -> None:
    _HANDLERS[subject_type] = handler


def handler_for(subject_type: str) -> Handler | None:
    return _HANDLERS.get(subject_type)
