"""Background jobs owned by rows: asking for work, running it, handing out what was left.

Rules for callers:
- Ask for work with `job_request` inside the transaction that makes the work
  necessary (a breakdown confirmed, a customer changed). Asking again for work
  that is waiting or running never doubles it.
- A job kind's `run` is called by `job_run` in a worker, holding the row's
  lease; it reports progress with `job_progress`.
- The clock calls `jobs_sweep` (hand out due work nobody holds: new, retried,
  or left by a dead worker), `jobs_check_stalls`, `worker_beat` and
  `tasks_reap`. Nobody needs to press anything for work to resume.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from bounceback.background import leases
from bounceback.background.enqueue import enqueue_on_commit
from bounceback.background.models import Job, WorkerBeat
from bounceback.background.registry import job_kind

if TYPE_CHECKING:
    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

# How long a handed-out task may sit in the queue before the sweep hands the
# job out again: the queue holds at most one wake-up per job per GRACE.
GRACE = timedelta(seconds=60)
# Failed runs come back after 10 s, doubling, at most this long apart.
MAX_BACKOFF = timedelta(minutes=5)
# The partial index job_live_due_idx covers exactly these states, written as a
# literal: SQLite uses a partial index only when the query's text matches it.
_LIVE_SQL = "state IN ('waiting', 'running')"


def job_backoff(attempts: int) -> timedelta:
    """How long a job waits after `attempts` failed runs in a row: 10 s, doubling."""
    return min(timedelta(seconds=10 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _wake(key: str) -> None:
    from bounceback.background.tasks import run_job

    enqueue_on_commit(run_job, key)


@transaction.atomic
def job_request(
    *, kind: str, key: str, subject_id: int | None = None, due_at: datetime | None = None
) -> Job:
    """Ask for `key`'s work to be done at `due_at` (now by default).

    Waiting work is brought forward if asked for sooner; running work goes
    round once more when its run ends (it may have passed what changed); done
    work waits again. Locks the job row last, after whatever the caller holds.
    """
    now = timezone.now()
    due = due_at or now
    Job.objects.bulk_create(
        [Job(key=key, kind=kind, subject_id=subject_id, due_at=due, progress_at=now)],
        ignore_conflicts=True,
    )
    job = Job.objects.select_for_update().get(key=key)
    if job.state == Job.State.RUNNING:
        if not job.again:
            job.again = True
            job.save(update_fields=["again"])
        return job
    if job.state == Job.State.DONE:
        job.state = Job.State.WAITING
        job.due_at = due
        job.attempts = 0
        job.last_error = ""
        job.stalled_at = None
        job.progress_at = now
        job.dispatched_at = None
    elif due < job.due_at:
        job.due_at = due
    recently_woken = job.dispatched_at is not None and job.dispatched_at > now - GRACE
    if job.due_at <= now and not recently_woken:
        job.dispatched_at = now
        _wake(key)
    job.save(
        update_fields=[
            "state",
            "due_at",
            "attempts",
            "last_error",
            "stalled_at",
            "progress_at",
            "dispatched_at",
        ]
    )
    return job


def job_run(*, key: str) -> bool:
    """Run the job if it is due and nobody holds it; False when it was not ours to run.

    Safe to call any number of times and from any number of workers: the claim
    is a conditional write. The handler's exceptions are recorded on the row
    (and retried with backoff), not raised, except the database's own: when the
    database is away the row cannot be written either, and its lease lapsing is
    what hands the work on.
    """
    now = timezone.now()
    owner = leases.owner_id()
    until = leases.lease_until(now)
    claimable = Q(state=Job.State.WAITING, due_at__lte=now)
    if leases.may_reclaim():
        claimable |= Q(state=Job.State.RUNNING, lease_until__lte=now)
    claimed = Job.objects.filter(claimable, key=key).update(
        state=Job.State.RUNNING,
        lease_owner=owner,
        lease_until=until,
        due_at=until,
        again=False,
        runs=F("runs") + 1,
        started_at=now,
        dispatched_at=None,
    )
    if not claimed:
        return False
    job = Job.objects.get(key=key)
    leases.hold(Job, job.pk, due_field="due_at")
    try:
        kind = job_kind(job.kind)
        if kind is None:
            raise LookupError(f"no job kind {job.kind!r} is registered")
        come_back_at = kind.run(job)
    except Exception as exc:
        from django.db import DatabaseError

        if isinstance(exc, DatabaseError):
            raise
        logger.exception("job %s failed", key)
        _job_failed(job, exc)
        return True
    finally:
        leases.release(Job, job.pk, due_field="due_at")
    _job_finished(job, come_back_at)
    return True


@transaction.atomic
def _job_finished(job: Job, come_back_at: datetime | None) -> None:
    now = timezone.now()
    row = Job.objects.select_for_update().filter(pk=job.pk, lease_owner=leases.owner_id()).first()
    if row is None:
        # Someone took it over while we were cut off; their run decides.
        return
    row.lease_owner = ""
    row.lease_until = None
    row.attempts = 0
    row.last_error = ""
    row.finished_at = now
    if row.again or (come_back_at is not None and come_back_at <= now):
        row.state = Job.State.WAITING
        row.due_at = now
        row.dispatched_at = now
        _wake(row.key)
    elif come_back_at is not None:
        row.state = Job.State.WAITING
        row.due_at = come_back_at
        row.dispatched_at = None
    else:
        row.state = Job.State.DONE
        row.due_at = now
    row.again = False
    row.save(
        update_fields=[
            "lease_owner",
            "lease_until",
            "attempts",
            "last_error",
            "finished_at",
            "state",
            "due_at",
            "dispatched_at",
            "again",
        ]
    )


def _job_failed(job: Job, exc: BaseException) -> None:
    now = timezone.now()
    attempts = job.attempts + 1
    Job.objects.filter(pk=job.pk, lease_owner=leases.owner_id()).update(
        state=Job.State.WAITING,
        attempts=attempts,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
        due_at=now + job_backoff(attempts),
        lease_owner="",
        lease_until=None,
        dispatched_at=None,
        again=False,
        finished_at=now,
    )


def job_progress(job: Job, **progress: Any) -> None:
    """The work moved forward: keep the lease, clear a stall, say what was done.

    `progress` is shown on pages as it is (counts, what is left), replacing the
    last report.
    """
    now = timezone.now()
    until = leases.lease_until(now)
    Job.objects.filter(pk=job.pk, lease_owner=leases.owner_id()).update(
        progress_at=now, progress=progress, stalled_at=None, lease_until=until, due_at=until
    )
    job.progress_at = now
    job.progress = progress
    job.stalled_at = None


def jobs_due(*, now: datetime) -> QuerySet[Job]:
    """Live jobs that should be running now and are not known to be in the queue."""
    due = (
        Job.objects.extra(where=[_LIVE_SQL])  # noqa: S610 (constant SQL)
        .filter(due_at__lte=now)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=now - GRACE))
    )
    if not leases.may_reclaim():
        due = due.filter(state=Job.State.WAITING)
    return due.order_by("due_at")


def jobs_sweep(*, now: datetime | None = None, batch: int = 100) -> int:
    """Hand out due jobs: new ones whose wake-up was lost, retries, dead workers' work."""
    now = now or timezone.now()
    if not jobs_due(now=now).values_list("pk", flat=True)[:1]:
        return 0
    with transaction.atomic():
        due = jobs_due(now=now)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        keys = list(due.values_list("key", flat=True)[:batch])
        Job.objects.filter(key__in=keys).update(dispatched_at=now)
        for key in keys:
            _wake(key)
    return len(keys)


def job_is_stalled(job: Job, *, now: datetime | None = None) -> bool:
    """Whether live work has not moved for its kind's stall time although it should have.

    Work waiting for a later time by plan (a paused or rate-limited wave) is
    not stalled; work failing over and over, or held by a run that stopped
    moving, is. Pages ask this, so a stall shows even with no worker running.
    """
    if job.state not in {Job.State.WAITING, Job.State.RUNNING}:
        return False
    now = now or timezone.now()
    kind = job_kind(job.kind)
    stall_after = kind.stall_after if kind else timedelta(minutes=2)
    moved = job.progress_at or job.created_at
    if moved is None or moved > now - stall_after:
        return False
    planned_wait = job.state == Job.State.WAITING and job.attempts == 0 and job.due_at > now
    return not planned_wait


def jobs_check_stalls(*, now: datetime | None = None) -> int:
    """Tell each stalled job's kind once (its owner is notified), until it moves again."""
    now = now or timezone.now()
    candidates = list(
        Job.objects.extra(where=[_LIVE_SQL])  # noqa: S610 (constant SQL)
        .filter(stalled_at__isnull=True, progress_at__lt=now - timedelta(minutes=1))
        .order_by("due_at")[:100]
    )
    told = 0
    for job in candidates:
        if not job_is_stalled(job, now=now):
            continue
        with transaction.atomic():
            if not Job.objects.filter(pk=job.pk, stalled_at__isnull=True).update(stalled_at=now):
                continue
            kind = job_kind(job.kind)
            if kind is not None and kind.on_stall is not None:
                kind.on_stall(job)
            told += 1
            logger.warning("job %s has stalled: %s", job.key, job.last_error or "no progress")
    return told


# --- Workers ------------------------------------------------------------------------------------

_started_at: dict[int, datetime] = {}


def worker_beat(*, now: datetime | None = None) -> None:
    """This worker process is alive (the clock calls it every few seconds)."""
    now = now or timezone.now()
    pid = os.getpid()
    started = _started_at.setdefault(pid, now)
    WorkerBeat.objects.update_or_create(
        worker_id=leases.owner_id(),
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": pid,
            "started_at": started,
            "seen_at": now,
        },
    )


def worker_gone_after() -> timedelta:
    """A worker that has not beaten for two lease lengths is gone (it beats every third)."""
    return 2 * leases.lease_length()


class WorkerStoppedError(Exception):
    """What a task the database backend left RUNNING under a dead worker is marked with."""


def tasks_reap(*, now: datetime | None = None) -> int:
    """Mark tasks that a dead worker left RUNNING (database backend) as failed.

    The work they did is owned by rows and is handed out again by the sweeps;
    this only keeps the task table honest. Redis' own registries do the same
    for rq (abandoned jobs move to the failed registry when their worker's
    heartbeat lapses).
    """
    if settings.TASK_BACKEND != "database":
        return 0
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    cutoff = now - worker_gone_after()
    running = list(
        DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, started_at__lt=cutoff
        ).values_list("id", "worker_ids")[:500]
    )
    if not running:
        return 0
    alive = set(WorkerBeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True))
    dead = [pk for pk, workers in running if not workers or workers[-1] not in alive]
    if not dead:
        return 0
    return DBTaskResult.objects.filter(pk__in=dead, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path=f"{__name__}.{WorkerStoppedError.__qualname__}",
        traceback="The worker running this task stopped (killed or lost) before it finished. "
        "Its work is kept in rows and was handed to another worker.",
    )


def background_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what has done its job: finished task results, old beats, long-done jobs."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    results, _ = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
        finished_at__lt=now - timedelta(days=1),
    ).delete()
    beats, _ = WorkerBeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    jobs, _ = Job.objects.filter(
        state=Job.State.DONE, finished_at__lt=now - timedelta(days=30)
    ).delete()
    return {"task_results": results, "worker_beats": beats, "jobs": jobs}
