"""Who reacts when a timer warns, falls due or escalates.

Each subject type ("case", later "approval", "breakdown_action") registers one
handler. A handler runs inside the transaction that advanced the timer, so its
writes (events, notifications, outbox rows) commit together with the timer's
new state, or not at all. Handlers must therefore only write to the database;
anything that leaves the building goes through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
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


# A subject that shows "what is due next" (the inbox orders cases by it) keeps
# that time on its own row, so lists sort on an indexed column instead of
# looking up timers for every row. The timers services tell it, inside the
# transaction that changed the timer, which subjects' earliest due time may
# have moved: `earliest` is the due time of timers just started (the subject's
# next due is at most that), None asks for a recount from the timer rows.
DueRefresh = Callable[[Sequence[int], datetime | None], None]

_DUE_REFRESH: dict[str, DueRefresh] = {}


def due_register(subject_type: str, refresh: DueRefresh) -> None:
    _DUE_REFRESH[subject_type] = refresh


def due_changed(subject_type: str, subject_ids: Sequence[int], earliest: datetime | None) -> None:
    """Tell the subject type (if it keeps a next-due time) that these subjects' timers moved."""
    refresh = _DUE_REFRESH.get(subject_type)
    if refresh is not None and subject_ids:
        refresh(subject_ids, earliest)
