"""The delivery queue: every message to a customer and every webhook, sent by worker lanes.

An outbox message and a webhook delivery are each a row with a state, an
attempt count, a due time (`next_attempt_at`) and a lease. Nothing is put on
the task queue per message: each worker runs one lane per kind of row (a
thread beside its clock) that claims the oldest due row with a conditional
write (SKIP LOCKED on PostgreSQL; SQLite's write lock serialises the claim),
sends it, and writes the outcome at once. So:

- one delivery is in flight per row at most, however many workers run;
- a worker killed mid-send stops renewing its lease and the row is claimed
  again within a lease (the send is repeated with the same Message-ID or
  event id: the only duplicates are sends whose acceptance was never
  recorded, and `window_stats()` measures that window);
- the queue is the table: its length is the work due, never a multiple of it;
- nothing goes before its due time or, with a throttle, faster than its
  channel's rate, whatever number of workers wake up for it.

Rules for callers: a kind of row registers its Lane in its app's `apps.py`;
its `send(pk)` must write the outcome itself (sent, retry later, failed) and
release the lease; database errors may escape it, anything else is its own to
record.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, models, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from bounceback.background import leases

logger = logging.getLogger(__name__)

IDLE_WAIT = 0.5
# How many of the most recent "accepted to recorded" windows are kept.
WINDOW_SAMPLES = 2000


class Throttle(Protocol):
    """A rate per channel: how many of a channel's rows may be claimed now, and when each goes."""

    def channel_of(self, row: Any) -> str: ...

    def slots(self, channel: str, wanted: int, now: datetime) -> list[datetime]:
        """Book up to `wanted` send times on `channel` within the next SLOT_HORIZON, inside
        the claim's transaction; fewer (or none) when the channel is that busy."""
        ...

    def next_free(self, now: datetime) -> float | None:
        """Seconds until some channel has a slot within the horizon again (None: no wait)."""
        ...


@dataclass(frozen=True)
class FailedDelivery:
    """One delivery that gave up, as the failed-deliveries page and API show it."""

    lane: str
    id: int
    what: str
    to: str
    error: str
    attempts: int
    failed_at: datetime | None
    link: str


@dataclass(frozen=True)
class Lane:
    """One kind of deliverable row and how to send it."""

    name: str
    label: str
    model: type[models.Model]
    # States a due row is claimed from, the state it is in while being sent,
    # and the state it ends in when it gives up.
    waiting: tuple[str, ...]
    active: str
    failed: str
    # The partial index's condition over (waiting + active), as literal SQL:
    # SQLite uses a partial index only when the query repeats its text.
    pending_sql: str
    send: Callable[[int], object]
    # A failed row as a person reads it, and "try it again now" (a service
    # that refuses with a ServiceError when it cannot).
    describe: Callable[[Any], FailedDelivery]
    retry: Callable[..., object]
    # What describe() reads beside the row, fetched with it.
    related: tuple[str, ...] = ()
    throttle: Throttle | None = None
    threads: int = 1


_LANES: dict[str, Lane] = {}


def lane_register(lane: Lane) -> None:
    _LANES[lane.name] = lane


def lanes() -> list[Lane]:
    return list(_LANES.values())


def lane(name: str) -> Lane:
    return _LANES[name]


# How far ahead a claim books send times: a lane takes about this much work at
# a time, and sleeps until each message's own time before sending it.
SLOT_HORIZON = timedelta(seconds=1)
# At most this many rows per claim.
CLAIM_BATCH = 50


@dataclass
class Claim:
    # The rows claimed, oldest first, each with the time it may be sent (None: now).
    pks: list[int] = field(default_factory=list)
    send_at: list[datetime | None] = field(default_factory=list)
    # Seconds until a throttle lets more rows be claimed, when it held some back.
    wait: float | None = None

    @property
    def pk(self) -> int | None:
        return self.pks[0] if self.pks else None


def lane_claimable_states(lane: Lane) -> list[str]:
    """Waiting rows, and in-flight rows whose sender's lease lapsed when this process may
    take them over (see `leases.may_reclaim`)."""
    return [*lane.waiting, lane.active] if leases.may_reclaim() else list(lane.waiting)


def lane_due(lane: Lane, *, now: datetime, states: list[str] | None = None) -> QuerySet[Any]:
    """The lane's rows due by `now`, oldest first, read through its pending index."""
    return (
        lane.model._default_manager.extra(where=[lane.pending_sql])  # noqa: S610 (constant SQL)
        .filter(next_attempt_at__lte=now, state__in=states or lane_claimable_states(lane))
        .order_by("next_attempt_at", "pk")
    )


def lane_claim(
    lane: Lane,
    *,
    now: datetime | None = None,
    only_pk: int | None = None,
    limit: int = CLAIM_BATCH,
) -> Claim:
    """Take the oldest due rows of the lane for this process (or the row `only_pk`, if
    due), with their send times when a throttle spaces them; or say how long to wait."""
    now = now or timezone.now()
    model = lane.model
    states = lane_claimable_states(lane)
    due = lane_due(lane, now=now, states=states)
    if only_pk is not None:
        due = due.filter(pk=only_pk)
    # Look before locking: an idle lane polls twice a second, and on SQLite
    # every transaction here would take the database's one write lock.
    if not due.values_list("pk", flat=True)[:1]:
        return Claim()
    with transaction.atomic():
        rows = due
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        if lane.throttle is None:
            picked = list(rows[:limit])
            send_at: list[datetime | None] = [None] * len(picked)
        else:
            first = rows.first()
            if first is None:
                return Claim(wait=lane.throttle.next_free(now))
            channel = lane.throttle.channel_of(first)
            picked = list(rows.filter(channel=channel)[:limit])
            # Book no more times than there are rows: a lone message must not
            # push the channel's next free slot a whole batch ahead.
            times = lane.throttle.slots(channel, len(picked), now)
            if not times:
                return Claim(wait=lane.throttle.next_free(now))
            picked = picked[: len(times)]
            send_at = list(times)
        if not picked:
            return Claim()
        until = leases.lease_until(now)
        pks = [row.pk for row in picked]
        claimed = model._default_manager.filter(
            pk__in=pks, state__in=states, next_attempt_at__lte=now
        ).update(
            state=lane.active,
            attempts=F("attempts") + 1,
            lease_owner=leases.owner_id(),
            lease_until=until,
            next_attempt_at=until,
        )
        if claimed != len(pks):
            # Someone else took some of them between our read and write (SQLite
            # without SKIP LOCKED cannot, PostgreSQL's locks forbid it): give
            # back what we got, rather than guess which.
            transaction.set_rollback(True)
            return Claim(wait=0.0)
    for pk in pks:
        leases.hold(model, pk, due_field="next_attempt_at")
    return Claim(pks=pks, send_at=send_at)


def lane_unclaim(lane: Lane, pks: list[int], *, at: datetime | None = None) -> None:
    """Hand back claimed rows not yet sent (a stopping worker): due again at `at`."""
    if not pks:
        return
    lane.model._default_manager.filter(
        pk__in=pks, state=lane.active, lease_owner=leases.owner_id()
    ).update(
        state=lane.waiting[0],
        attempts=F("attempts") - 1,
        lease_owner="",
        lease_until=None,
        next_attempt_at=at or timezone.now(),
    )
    for pk in pks:
        lane_release(lane, pk)


def lane_release(lane: Lane, pk: int) -> None:
    leases.release(lane.model, pk, due_field="next_attempt_at")


def lane_record(write: Callable[[], Any], *, what: str, stop: threading.Event | None = None) -> Any:
    """Write a delivery's outcome, retrying through a database outage.

    The send has happened; giving up on recording it would hand the row to
    another worker and send it twice. The lease is kept (renewed by the
    keeper once the database is back), so this process gets there first.
    """
    delay = 0.5
    while True:
        try:
            return write()
        except DatabaseError:
            leases.database_failed()
            logger.warning("could not record %s; retrying", what, exc_info=True)
            if stop is not None and stop.is_set():
                raise
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
            close_old_connections()


# --- The acceptance window ------------------------------------------------------------------


@dataclass
class _Windows:
    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW_SAMPLES))


_windows = _Windows()


def window_note(seconds: float) -> None:
    """A send was accepted by the other side `seconds` before its row said so."""
    with _windows.lock:
        _windows.seconds.append(seconds)


def window_stats() -> dict[str, float]:
    """The window in which a crash repeats a send: p50, p99 and max, in milliseconds."""
    with _windows.lock:
        values = sorted(_windows.seconds)
    if not values:
        return {"count": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}

    def at(q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    return {
        "count": len(values),
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "max_ms": values[-1] * 1000,
    }


# --- Running lanes ------------------------------------------------------------------------------


def lane_claim_waiting(
    lane: Lane, *, only_pk: int | None = None, patience: float = 5.0, limit: int = CLAIM_BATCH
) -> Claim:
    """lane_claim, waiting (up to `patience` seconds) while a throttle holds rows back."""
    deadline = time.monotonic() + patience
    while True:
        claim = lane_claim(lane, only_pk=only_pk, limit=limit)
        if claim.pks or claim.wait is None or time.monotonic() >= deadline:
            return claim
        time.sleep(min(max(claim.wait, 0.001), max(deadline - time.monotonic(), 0.0)))


def _wait_until(at: datetime | None, stop: threading.Event | None) -> bool:
    """Sleep until `at`; False if `stop` was set meanwhile."""
    if at is None:
        return not (stop is not None and stop.is_set())
    delay = (at - timezone.now()).total_seconds()
    if delay > 0:
        if stop is not None:
            return not stop.wait(delay)
        time.sleep(delay)
    return True


def lane_send_claimed(lane: Lane, claim: Claim, *, stop: threading.Event | None = None) -> int:
    """Send the claimed rows in order, each at its time; hand back the rest if stopped."""
    sent = 0
    for index, (pk, at) in enumerate(zip(claim.pks, claim.send_at, strict=True)):
        if not _wait_until(at, stop):
            lane_unclaim(lane, claim.pks[index:], at=at)
            break
        lane.send(pk)
        sent += 1
    return sent


def lane_run_due(lane: Lane, *, limit: int | None = None, wait_for_slots: bool = True) -> int:
    """Send every row of the lane that is due now (then return); for burst workers and tests."""
    sent = 0
    while limit is None or sent < limit:
        batch = CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - sent)
        claim = lane_claim_waiting(lane, limit=batch, patience=5.0 if wait_for_slots else 0.0)
        if not claim.pks:
            return sent
        sent += lane_send_claimed(lane, claim)
    return sent


def deliveries_run_due(*, limit: int | None = None) -> int:
    """Every lane, once through what is due now."""
    return sum(lane_run_due(each, limit=limit) for each in lanes())


def lane_work(lane: Lane, *, stop: threading.Event, idle: float = IDLE_WAIT) -> None:
    """A worker's lane thread: claim a batch, send it, repeat, until `stop` is set.

    A database outage is waited out with backoff; nothing here ever ends the
    worker.
    """
    failures = 0
    try:
        while not stop.is_set():
            try:
                close_old_connections()
                claim = lane_claim(lane)
                leases.database_ok()
                failures = 0
            except DatabaseError:
                leases.database_failed()
                failures += 1
                logger.warning("lane %s: database error (attempt %s)", lane.name, failures)
                stop.wait(min(0.5 * 2**failures, 30.0))
                continue
            if not claim.pks:
                stop.wait(idle if claim.wait is None else min(max(claim.wait, 0.001), idle))
                continue
            try:
                lane_send_claimed(lane, claim, stop=stop)
            except DatabaseError:
                leases.database_failed()
                logger.warning("lane %s: database error while sending", lane.name)
                stop.wait(1.0)
            except Exception:  # a bug in one send must not stop every later one
                logger.exception("lane %s: sending failed unexpectedly", lane.name)
    finally:
        connection.close()


def lanes_start(*, stop: threading.Event) -> list[threading.Thread]:
    """Start every registered lane's threads (daemon threads; set `stop` to end them)."""
    threads = []
    for each in lanes():
        for n in range(max(1, each.threads)):
            thread = threading.Thread(
                target=lane_work,
                kwargs={"lane": each, "stop": stop},
                name=f"bounceback-lane-{each.name}-{n}",
                daemon=True,
            )
            thread.start()
            threads.append(thread)
    return threads


def backoff(attempts: int) -> timedelta:
    """BOUNCEBACK_RETRY_SECONDS (30) after the first failure, doubling, at most an hour."""
    first = settings.BOUNCEBACK_RETRY_SECONDS
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), 3600))
