"""Enqueueing background tasks.

Rule for callers: enqueue through `enqueue_on_commit` from inside the service's
transaction. The task is handed to the backend only after the rows it will load
are committed, and never if the transaction rolls back.

A task is only ever a wake-up call: the work it does is owned by a row with a
state and a lease (`bounceback.background.models.Job`, an outbox message, a
webhook delivery), and the clock's sweeps hand out again whatever a lost task
or a dead worker left behind. So a failed enqueue (Redis away for a moment)
is logged, never raised: the caller's transaction has already committed, and
an exception here would answer an error for a write that was stored.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_now(task: Any, *args: Any, **kwargs: Any) -> bool:
    """Hand a task to the backend at once; False (and a log line) if the backend refused."""
    try:
        task.enqueue(*args, **kwargs)
    except Exception:  # the backend's own errors (Redis down, database locked) vary
        logger.warning("could not enqueue %s%r; the sweep will pick the work up", task, args)
        return False
    return True


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: enqueue_now(task, *args, **kwargs))
