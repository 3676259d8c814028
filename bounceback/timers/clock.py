"""The clock: the loop in every worker that fires due timers and re-dispatches mail.

Deadlines are rows with a due time, so the clock only has to poll two
indexed columns. Any number of workers may run a clock: claims use
SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, and SQLite's write lock
serialises them, so nothing fires twice.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.5
HOUSEKEEPING_EVERY = timedelta(hours=1)


def clock_tick(*, now: datetime | None = None) -> dict[str, int]:
    """One pass: fire due timers, hand overdue outbox messages to workers."""
    from bounceback.mail.imap import imap_poll_due
    from bounceback.outbox.services import outbox_sweep
    from bounceback.segments.services import segments_recompute_due
    from bounceback.timers.services import timers_fire_due
    from bounceback.webhooks.services import webhook_deliveries_sweep

    return {
        "timers": timers_fire_due(now=now),
        "outbox": outbox_sweep(now=now),
        "imap": imap_poll_due(now=now),
        "webhooks": webhook_deliveries_sweep(now=now),
        "segments": segments_recompute_due(now=now),
    }


def housekeeping(*, now: datetime | None = None) -> dict[str, int]:
    """Delete rows that have done their job: old idempotency keys and failed logins."""
    from bounceback.accounts.models import FailedLogin
    from bounceback.api.idempotency import KEY_TTL
    from bounceback.api.models import IdempotencyKey

    now = now or timezone.now()
    keys, _ = IdempotencyKey.objects.filter(created_at__lt=now - KEY_TTL).delete()
    logins, _ = FailedLogin.objects.filter(at__lt=now - timedelta(days=1)).delete()
    return {"idempotency_keys": keys, "failed_logins": logins}


def clock_run(*, stop: threading.Event, interval: float = DEFAULT_INTERVAL) -> None:
    """Tick until `stop` is set. A database hiccup is logged and retried, never fatal."""
    next_housekeeping = time.monotonic()
    failures = 0
    while not stop.is_set():
        try:
            close_old_connections()
            done = clock_tick()
            if any(done.values()):
                logger.info("clock: %s", done)
            if time.monotonic() >= next_housekeeping:
                housekeeping()
                next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY.total_seconds()
            failures = 0
        except DatabaseError:
            failures += 1
            logger.exception("clock: database error (attempt %s); retrying", failures)
        # After errors back off up to 30 s so a down database is not hammered.
        stop.wait(min(interval * (2**failures), 30.0) if failures else interval)
