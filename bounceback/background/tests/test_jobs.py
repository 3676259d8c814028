"""Jobs owned by rows: asked for once, run by one worker, handed out again when left behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from bounceback.background import leases
from bounceback.background.models import Job, WorkerBeat
from bounceback.background.registry import JobKind, job_kind_register
from bounceback.background.services import (
    job_is_stalled,
    job_progress,
    job_request,
    job_run,
    jobs_check_stalls,
    jobs_sweep,
    tasks_reap,
    worker_beat,
)

pytestmark = pytest.mark.django_db

runs: list[str] = []
stalls: list[str] = []


def _count(job: Job) -> datetime | None:
    runs.append(job.key)
    job_progress(job, done=len(runs))
    return None


def _broken(job: Job) -> datetime | None:
    raise ValueError("the provider said no")


def _asks_again(job: Job) -> datetime | None:
    runs.append(job.key)
    # Someone asks for the work again while this run is going on.
    job_request(kind="test_count", key=job.key)
    return None


@pytest.fixture(autouse=True)
def kinds() -> Iterator[None]:
    runs.clear()
    stalls.clear()
    job_kind_register(JobKind(name="test_count", run=_count))
    job_kind_register(
        JobKind(name="test_broken", run=_broken, on_stall=lambda job: stalls.append(job.key))
    )
    job_kind_register(JobKind(name="test_again", run=_asks_again))
    yield


@pytest.fixture
def long_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leases, "_connected_since", time.monotonic() - 3600)


def test_asking_twice_for_the_same_work_makes_one_job_and_one_wake_up(
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks() as woken:
        job_request(kind="test_count", key="k:1", subject_id=1)
        job_request(kind="test_count", key="k:1", subject_id=1)

    assert Job.objects.count() == 1
    assert len(woken) == 1


def test_a_job_runs_once_however_many_wake_ups_arrive() -> None:
    job_request(kind="test_count", key="k:1")

    results = [job_run(key="k:1") for _ in range(3)]

    assert results == [True, False, False]
    assert runs == ["k:1"]
    job = Job.objects.get(key="k:1")
    assert job.state == Job.State.DONE
    assert job.progress == {"done": 1} and job.lease_owner == ""


def test_work_asked_for_again_while_it_runs_goes_round_once_more() -> None:
    job_request(kind="test_again", key="k:1")

    job_run(key="k:1")
    job = Job.objects.get(key="k:1")

    assert job.state == Job.State.WAITING
    assert job.due_at <= timezone.now()
    assert job_run(key="k:1") is True
    assert len(runs) == 2


def test_a_failing_job_is_retried_later_with_its_error_kept() -> None:
    job_request(kind="test_broken", key="k:1")

    job_run(key="k:1")
    job = Job.objects.get(key="k:1")

    assert job.state == Job.State.WAITING
    assert job.attempts == 1
    assert "the provider said no" in job.last_error
    assert job.due_at > timezone.now()
    assert job_run(key="k:1") is False  # not before its backoff


def test_a_dead_workers_job_is_handed_out_again_by_the_sweep(long_connected) -> None:
    job_request(kind="test_count", key="k:1")
    long_ago = timezone.now() - timedelta(minutes=5)
    Job.objects.filter(key="k:1").update(
        state=Job.State.RUNNING,
        lease_owner="host-1234",
        lease_until=long_ago,
        due_at=long_ago,
        dispatched_at=long_ago,
    )

    handed = jobs_sweep()
    again = jobs_sweep()
    job_run(key="k:1")

    assert (handed, again) == (1, 0)
    assert runs == ["k:1"]
    assert Job.objects.get(key="k:1").state == Job.State.DONE


def test_a_running_job_with_a_live_lease_is_left_alone(long_connected) -> None:
    job_request(kind="test_count", key="k:1")
    soon = timezone.now() + timedelta(seconds=20)
    Job.objects.filter(key="k:1").update(
        state=Job.State.RUNNING, lease_owner="host-1234", lease_until=soon, due_at=soon
    )

    assert jobs_sweep() == 0
    assert job_run(key="k:1") is False
    assert runs == []


def test_a_job_that_keeps_failing_is_stalled_and_its_kind_told_once() -> None:
    job_request(kind="test_broken", key="k:1")
    job_run(key="k:1")
    Job.objects.filter(key="k:1").update(progress_at=timezone.now() - timedelta(minutes=10))
    job = Job.objects.get(key="k:1")

    assert job_is_stalled(job)
    assert jobs_check_stalls() == 1
    assert jobs_check_stalls() == 0
    assert stalls == ["k:1"]


def test_work_waiting_for_its_planned_time_is_not_stalled() -> None:
    later = timezone.now() + timedelta(hours=1)
    job = job_request(kind="test_count", key="k:1", due_at=later)
    Job.objects.filter(pk=job.pk).update(progress_at=timezone.now() - timedelta(hours=2))
    job.refresh_from_db()

    assert not job_is_stalled(job)


def test_a_task_left_running_by_a_dead_worker_is_marked_failed(settings) -> None:
    settings.TASK_BACKEND = "database"
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from bounceback.background.tasks import run_job

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    dead = run_job.using(backend="default").enqueue("k:dead")
    alive = run_job.using(backend="default").enqueue("k:alive")
    long_ago = timezone.now() - timedelta(minutes=10)
    worker_beat()
    DBTaskResult.objects.filter(id=dead.id).update(
        status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=["gone-host-1"]
    )
    DBTaskResult.objects.filter(id=alive.id).update(
        status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=[leases.owner_id()]
    )

    assert tasks_reap() == 1
    assert DBTaskResult.objects.get(id=dead.id).status == TaskResultStatus.FAILED
    assert DBTaskResult.objects.get(id=alive.id).status == TaskResultStatus.RUNNING
    assert WorkerBeat.objects.filter(worker_id=leases.owner_id()).exists()
