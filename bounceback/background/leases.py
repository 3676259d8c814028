"""Leases: a process says "this row is mine" for a short while, and keeps saying it while alive.

A row being worked on (an outbox message in SENDING, a running Job) carries
`lease_owner` and `lease_until`. A keeper thread in the owning process renews
the lease every third of its length for as long as the process lives, so:

- a process killed outright (SIGKILL, a lost machine) stops renewing, and its
  rows are free for another worker within a lease length (BOUNCEBACK_LEASE_SECONDS);
- a slow but live piece of work (an SMTP server taking minutes to answer the
  end of DATA, a 100,000-customer outreach) keeps its rows however long it
  takes, and nobody else starts the same work beside it.

Rules for callers:
- Claim with a conditional write that sets `lease_owner=owner_id()` and
  `lease_until=lease_until(now)`, then `hold()` the row; `release()` it once the
  outcome is written. A row is only taken back from a lapsed lease when
  `may_reclaim()` says so.
- Report database trouble with `database_failed()`: after an outage every
  lease looks lapsed, and a process that has just reconnected waits a lease
  before taking anyone else's rows, so a live owner that reconnected too has
  renewed its own first. That keeps duplicates to the unavoidable window.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, models
from django.utils import timezone

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# (model, due column) -> primary keys this process holds.
_held: dict[tuple[type[models.Model], str], set[int]] = {}
_keeper_pid: int | None = None
_connected_since: float | None = None


def owner_id() -> str:
    """This process's name in lease_owner columns (the database worker uses the same id)."""
    return f"{socket.gethostname()}-{os.getpid()}"[-64:]


def lease_length() -> timedelta:
    """How long a lease lasts unrenewed (BOUNCEBACK_LEASE_SECONDS)."""
    return timedelta(seconds=settings.BOUNCEBACK_LEASE_SECONDS)


def renew_every() -> float:
    return settings.BOUNCEBACK_LEASE_SECONDS / 3


def lease_until(now: datetime) -> datetime:
    return now + lease_length()


def database_ok() -> None:
    global _connected_since
    if _connected_since is None:
        _connected_since = time.monotonic()


def database_failed() -> None:
    global _connected_since
    _connected_since = None


def may_reclaim() -> bool:
    """Whether this process may take rows whose lease lapsed: only after a lease length of
    unbroken contact with the database, so every live owner has had its chance to renew."""
    since = _connected_since
    return since is not None and time.monotonic() - since >= lease_length().total_seconds()


def hold(model: type[models.Model], pk: int, *, due_field: str) -> None:
    """Keep renewing the lease on this row (and its due column) until release()."""
    _ensure_keeper()
    with _lock:
        _held.setdefault((model, due_field), set()).add(pk)


def release(model: type[models.Model], pk: int, *, due_field: str) -> None:
    with _lock:
        rows = _held.get((model, due_field))
        if rows is not None:
            rows.discard(pk)


def renew(*, now: datetime | None = None) -> int:
    """Push every held lease forward by a lease length; the keeper thread calls this."""
    now = now or timezone.now()
    with _lock:
        work = [(key, sorted(pks)) for key, pks in _held.items() if pks]
    renewed = 0
    until = lease_until(now)
    owner = owner_id()
    for (model, due_field), pks in work:
        renewed += model._default_manager.filter(pk__in=pks, lease_owner=owner).update(
            lease_until=until, **{due_field: until}
        )
    return renewed


def _keep() -> None:
    while True:
        time.sleep(renew_every())
        try:
            close_old_connections()
            renew()
            database_ok()
        except DatabaseError:
            database_failed()
            logger.warning("could not renew leases; retrying", exc_info=True)


def _ensure_keeper() -> None:
    """One keeper thread per process, started on first use (also in forked children)."""
    global _keeper_pid
    pid = os.getpid()
    if _keeper_pid == pid:
        return
    with _lock:
        if _keeper_pid == pid:
            return
        if _keeper_pid is not None:
            # A forked child inherited the parent's set but not its thread.
            _held.clear()
        _keeper_pid = pid
        threading.Thread(target=_keep, name="bounceback-leases", daemon=True).start()
