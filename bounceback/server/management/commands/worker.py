"""`bounceback worker`: a background worker for whichever task backend is configured.

One command name for both backends keeps deploy scripts and the `serve`
supervisor ignorant of BOUNCEBACK_TASK_BACKEND; the real work loop is the
backend's own (django-tasks-db's db_worker, or django-rq's rqworker).
"""

from __future__ import annotations

import os
import socket
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from bounceback.server.lifetime import forked_children_die_with_this_process


class Command(BaseCommand):
    help = (
        "Run a background worker for the configured task backend "
        "(BOUNCEBACK_TASK_BACKEND: database or redis). Stops cleanly on SIGTERM or Ctrl-C, "
        "after the task in hand."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--burst",
            "--batch",
            action="store_true",
            help="Run every task that is ready, then exit instead of waiting for more",
        )
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            metavar="NAME",
            help="Queue to work on; repeat for several (default: default)",
        )

    def handle(self, *, burst: bool, queues: list[str] | None, verbosity: int, **_: Any) -> None:
        queues = queues or ["default"]
        backend = settings.TASK_BACKEND
        if backend == "database":
            call_command(
                "db_worker",
                queue_name=",".join(queues),
                batch=burst,
                # The autoreloader forks a second process and would swallow signals
                # meant for the worker; restart workers on deploy instead.
                reload=False,
                startup_delay=not burst,
                worker_id=f"{socket.gethostname()}-{os.getpid()}"[-64:],
                verbosity=verbosity,
            )
        elif backend == "redis":
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
        else:
            raise CommandError(
                f"BOUNCEBACK_TASK_BACKEND={backend} runs tasks inside the web process; "
                "there is nothing for a worker to do. Use database or redis."
            )
