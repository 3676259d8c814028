"""The clock: the loop in every worker that runs what is due.

Deadlines are rows with a due time, so the clock only polls indexed columns.
It knows nothing of what it runs: each app registers its periodic work in its
own `apps.py` with `clock_register` (every tick, or every so often) or
`housekeeping_register` (hourly clean-up of rows that have done their job).
Any number of workers may run a clock: what it runs claims rows with
SELECT ... FOR UPDATE SKIP LOCKED or conditional writes on PostgreSQL, and
SQLite's write lock serialises them, so nothing fires twice.

Rules for what is registered: keyword-only `now`, quick when nothing is due
(an indexed query or less), returns how much it did (a count, or counts by
name). A failure in one is logged and the others still run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.5
HOUSEKEEPING_EVERY = timedelta(hours=1)

Periodic = Callable[..., Any]


@dataclass
class _Entry:
    run: Periodic
    every: float | None
    next_at: float = 0.0


_TICK: dict[str, _Entry] = {}
_HOUSEKEEPING: dict[str, Periodic] = {}


def clock_register(name: str, run: Periodic, *, every: timedelta | None = None) -> None:
    """Run `run(now=...)` on every tick, or at most once per `every` in each process."""
    _TICK[name] = _Entry(run=run, every=every.total_seconds() if every else None)


def housekeeping_register(name: str, run: Periodic) -> None:
    """Run `run(now=...)` hourly to delete rows that have done their job."""
    _HOUSEKEEPING[name] = run


def _counted(value: Any) -> int:
    if isinstance(value, dict):
        return sum(int(v) for v in value.values())
    return int(value or 0)


def clock_tick(*, now: datetime | None = None) -> dict[str, int]:
    """One pass over everything registered that is due in this process.

    Database errors propagate (the loop backs off and counts them); any other
    failure of one piece is logged and the rest still run.
    """
    done: dict[str, int] = {}
    moment = time.monotonic()
    database_error: DatabaseError | None = None
    for name, entry in _TICK.items():
        if entry.every is not None and moment < entry.next_at:
            continue
        try:
            done[name] = _counted(entry.run(now=now))
        except DatabaseError as exc:
            database_error = exc
            continue
        except Exception:
            logger.exception("clock: %s failed", name)
            continue
        if entry.every is not None:
            entry.next_at = moment + entry.every
    if database_error is not None:
        raise database_error
    return done


def housekeeping(*, now: datetime | None = None) -> dict[str, int]:
    """Delete rows that have done their job (every registered clean-up)."""
    now = now or timezone.now()
    done: dict[str, int] = {}
    for name, run in _HOUSEKEEPING.items():
        result = run(now=now)
        if isinstance(result, dict):
            done.update({f"{name}.{key}": int(value) for key, value in result.items()})
        else:
            done[name] = int(result or 0)
    return done


def clock_run(*, stop: threading.Event, interval: float = DEFAULT_INTERVAL) -> None:
    """Tick until `stop` is set. A database hiccup is logged and retried, never fatal."""
    from bounceback.background import leases

    next_housekeeping = time.monotonic()
    failures = 0
    while not stop.is_set():
        try:
            close_old_connections()
            done = clock_tick()
            if any(done.values()):
                logger.info("clock: %s", {k: v for k, v in done.items() if v})
            if time.monotonic() >= next_housekeeping:
                housekeeping()
                next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY.total_seconds()
            leases.database_ok()
            failures = 0
        except DatabaseError:
            leases.database_failed()
            failures += 1
            logger.exception("clock: database error (attempt %s); retrying", failures)
        # After errors back off up to 30 s so a down database is not hammered.
        stop.wait(min(interval * (2**failures), 30.0) if failures else interval)
