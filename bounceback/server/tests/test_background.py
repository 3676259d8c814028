"""Background work: enqueue-on-commit, and real worker processes running tasks.

These run on whichever task backend the suite is configured with
(BOUNCEBACK_TASK_BACKEND), so the same tests prove the database backend in one
CI run and Redis in the other.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django_tasks import TaskResult, TaskResultStatus
from django_tasks.signals import task_enqueued

from bounceback.background.enqueue import enqueue_on_commit
from bounceback.server.testing import (
    BACKENDS,
    CLI,
    REPO_ROOT,
    no_leftover_processes,
    process_env,
)
from bounceback.server.tests.tasks import WORKER_LABEL, record, record_once_all_workers_arrive

pytestmark = pytest.mark.usefixtures("clean_queue")


class Boom(Exception):
    pass


@pytest.fixture
def enqueued() -> Iterator[list[TaskResult[Any]]]:
    """Every task result handed to a backend during the test."""
    seen: list[TaskResult[Any]] = []

    def receive(sender: object, task_result: TaskResult[Any], **kwargs: object) -> None:
        seen.append(task_result)

    task_enqueued.connect(receive, weak=False)
    yield seen
    task_enqueued.disconnect(receive)


def waiting_in_backend() -> int:
    """How many tasks the configured backend holds ready to run."""
    if settings.TASK_BACKEND == "redis":
        import django_rq

        return int(django_rq.get_queue("default").count)
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def run_workers(env: dict[str, str], count: int = 1, timeout: float = 180) -> None:
    """Start `count` burst workers at once and wait for all; each must exit 0."""
    with no_leftover_processes(env):
        workers = [
            subprocess.Popen(
                [*CLI, "worker", "--burst"],
                env={**env, WORKER_LABEL: f"w{n}"},
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for n in range(count)
        ]
        for worker in workers:
            output, _ = worker.communicate(timeout=timeout)
            assert worker.returncode == 0, output


def test_a_rolled_back_transaction_enqueues_nothing(
    tmp_path: Path, enqueued: list[TaskResult[Any]]
) -> None:
    out = str(tmp_path / "out.txt")

    with pytest.raises(Boom), transaction.atomic():
        enqueue_on_commit(record, out, "rolled back")
        raise Boom

    assert enqueued == []
    assert waiting_in_backend() == 0


def test_a_task_is_enqueued_only_once_its_transaction_commits(
    tmp_path: Path, enqueued: list[TaskResult[Any]]
) -> None:
    out = str(tmp_path / "out.txt")

    with transaction.atomic():
        enqueue_on_commit(record, out, "committed")
        # Still inside the transaction: a worker must not see the task yet.
        assert enqueued == []
        assert waiting_in_backend() == 0

    assert [result.args for result in enqueued] == [[out, "committed"]]
    assert waiting_in_backend() == 1


def test_a_worker_process_runs_committed_tasks(
    tmp_path: Path, data_dir: Path, enqueued: list[TaskResult[Any]]
) -> None:
    out = tmp_path / "out.txt"
    with transaction.atomic():
        enqueue_on_commit(record, str(out), "first")
        enqueue_on_commit(record, str(out), "second")

    run_workers(process_env(data_dir=data_dir))

    assert sorted(lines(out)) == ["first w0", "second w0"]
    for result in enqueued:
        assert record.get_result(result.id).status == TaskResultStatus.SUCCESSFUL
    assert waiting_in_backend() == 0


@pytest.fixture(
    params=[
        "database",
        pytest.param(
            "redis",
            marks=pytest.mark.skipif(
                settings.TASK_BACKEND != "redis",
                reason="runs in the suite configured with BOUNCEBACK_TASK_BACKEND=redis",
            ),
        ),
    ]
)
def backend(request: pytest.FixtureRequest, settings: Any) -> str:
    """Each backend that can be tested here, selected for this process and its workers."""
    name: str = request.param
    settings.TASKS = {"default": BACKENDS[name]}
    return name


def test_several_workers_never_run_one_task_twice(
    tmp_path: Path, data_dir: Path, backend: str
) -> None:
    out = tmp_path / "out.txt"
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    workers = 3
    values = [f"task-{n}" for n in range(300)]
    for value in values:
        record_once_all_workers_arrive.enqueue(str(out), value, str(meeting), workers)

    run_workers(process_env(data_dir=data_dir, task_backend=backend), count=workers)

    runs = Counter(line.split()[0] for line in lines(out))
    twice = sorted(value for value, count in runs.items() if count > 1)
    assert twice == [], f"run more than once: {twice[:10]}"
    assert set(runs) == set(values)
    by_worker = Counter(line.split()[1] for line in lines(out))
    assert len(by_worker) == workers, f"not every worker took part: {by_worker}"
