"""`bounceback worker`: a background worker for whichever task backend is configured.

One command name for both backends keeps deploy scripts and the `serve`
supervisor ignorant of BOUNCEBACK_TASK_BACKEND; the task loop is the
backend's own (django-tasks-db's worker, kept alive through database outages,
or django-rq's rqworker). Beside it every worker runs, in threads, the clock
(bounceback.timers.clock) and the delivery lanes that send outbox messages
and webhooks (bounceback.background.deliveries): both claim rows with SKIP
LOCKED or conditional writes, so any number of workers can share them.
"""

from __future__ import annotations

import logging
import threading
import time
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from bounceback.server.lifetime import forked_children_die_with_this_process

logger = logging.getLogger(__name__)

# How long a stopping worker waits for its delivery lanes to finish the sends in
# hand, and then for the clock's tick, in seconds.
LANES_STOP_WITHIN = 20.0
CLOCK_STOP_WITHIN = 3.0


@contextmanager
def clock_running() -> Iterator[None]:
    """Run the clock (due timers, sweeps) and the delivery lanes in threads beside the task loop."""
    from bounceback.background.deliveries import lanes_start
    from bounceback.timers.clock import clock_run

    stop = threading.Event()
    clock = threading.Thread(
        target=clock_run, kwargs={"stop": stop}, name="bounceback-clock", daemon=True
    )
    clock.start()
    lanes = lanes_start(stop=stop)
    try:
        yield
    finally:
        stop.set()
        # A lane in the middle of a send finishes it (and records it) first, so
        # the lanes get most of the time a supervisor allows (`serve` kills at 30 s).
        deadline = time.monotonic() + LANES_STOP_WITHIN
        for lane in lanes:
            lane.join(timeout=max(deadline - time.monotonic(), 0.1))
        # The clock's pieces are idempotent and each commits its own transaction,
        # so a long one (say, the first vectors after start, which loads the
        # embedding model) is abandoned rather than waited for: its thread is a
        # daemon, its transaction rolls back with the connection, and the next
        # tick of any worker does it again.
        clock.join(timeout=CLOCK_STOP_WITHIN)
        if clock.is_alive():
            logger.warning("clock: stopping in the middle of a tick; another tick will redo it")


def run_database_worker(*, queues: list[str], burst: bool) -> None:
    """django-tasks-db's worker loop, kept alive through database outages."""
    from bounceback.background.leases import owner_id
    from bounceback.server.dbworker import ResilientWorker

    worker = ResilientWorker(
        queue_names=queues,
        interval=1.0,
        batch=burst,
        backend_name="default",
        # Workers started together would otherwise poll in lock step.
        startup_delay=not burst,
        max_tasks=None,
        # The id the clock beats under, so the reaper knows its tasks' worker lives.
        worker_id=owner_id(),
        excluded_queue_names=[],
    )
    worker.configure_signals()
    try:
        worker.run()
    finally:
        worker.reset_signals()


class Command(BaseCommand):
    help = (
        "Run a background worker for the configured task backend "
        "(BOUNCEBACK_TASK_BACKEND: database or redis), with the clock that fires due "
        "timers beside it. Stops cleanly on SIGTERM or Ctrl-C, after the task in hand."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--burst",
            "--batch",
            action="store_true",
            help="Fire due timers once, run every task that is ready, send every message "
            "that is due, then exit instead of waiting for more",
        )
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            metavar="NAME",
            help="Queue to work on; repeat for several (default: default)",
        )
        parser.add_argument(
            "--no-clock",
            action="store_false",
            dest="clock",
            help="Do not fire due timers or send messages from this worker "
            "(some other worker must)",
        )

    def handle(
        self, *, burst: bool, queues: list[str] | None, clock: bool, verbosity: int, **_: Any
    ) -> None:
        backend = settings.TASK_BACKEND
        if backend not in {"database", "redis"}:
            raise CommandError(
                f"BOUNCEBACK_TASK_BACKEND={backend} runs tasks inside the web process; "
                "there is nothing for a worker to do. Use database or redis."
            )
        queues = queues or ["default"]
        if not clock:
            self._work(backend=backend, queues=queues, burst=burst, verbosity=verbosity)
        elif burst:
            from bounceback.background.deliveries import deliveries_run_due
            from bounceback.timers.clock import clock_tick

            # One tick first, so work that due timers hand over is in the queue to drain;
            # then the tasks; then what they (and the tick) left to send. Like the
            # clock loop, a database error here is logged, never fatal.
            try:
                clock_tick()
            except DatabaseError:
                logger.exception("clock: tick failed; draining the queue anyway")
            self._work(backend=backend, queues=queues, burst=burst, verbosity=verbosity)
            try:
                deliveries_run_due()
            except DatabaseError:
                logger.exception("deliveries: could not send what is due")
        else:
            with clock_running():
                self._work(backend=backend, queues=queues, burst=burst, verbosity=verbosity)

    def _work(self, *, backend: str, queues: list[str], burst: bool, verbosity: int) -> None:
        if backend == "database":
            run_database_worker(queues=queues, burst=burst)
        else:
            # rq forks a scheduler process and a process per job; if this worker
            # is killed outright they must not run on unsupervised.
            forked_children_die_with_this_process()
            call_command(
                "rqworker",
                *queues,
                # django-tasks-rq needs its own Job class to call Task objects.
                job_class="django_tasks_rq.Job",
                # The scheduler moves deferred tasks (run_after) onto the queue when due.
                with_scheduler=True,
                burst=burst,
                verbosity=verbosity,
            )
