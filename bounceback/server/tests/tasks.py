"""Task functions for the background-work tests.

Workers import tasks by module path, so these live in a real module rather
than inside the tests. Each appends one line to a file with O_APPEND, which the
kernel keeps atomic across processes, so the file is a faithful record of
every run of every task.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_tasks import task

# Set on each worker process a test starts, so a line says who ran the task.
WORKER_LABEL = "BOUNCEBACK_TEST_WORKER"


def _append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


@task()
def record(path: str, value: str) -> str:
    _append(path, f"{value} {os.environ.get(WORKER_LABEL, '-')}")
    return value


@task()
def record_once_all_workers_arrive(path: str, value: str, meeting: str, workers: int) -> str:
    """Like record, but first wait (at most a minute) until `workers` workers hold a task.

    Without this, one worker that starts a moment early could drain the queue
    alone and the "several workers" test would prove nothing.
    """
    me = os.environ.get(WORKER_LABEL, "-")
    Path(meeting, me).touch()
    deadline = time.monotonic() + 60
    while len(os.listdir(meeting)) < workers and time.monotonic() < deadline:
        time.sleep(0.05)
    _append(path, f"{value} {me}")
    return value
