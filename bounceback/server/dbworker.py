"""The database task backend's worker, made to outlive a database that goes away.

django-tasks-db's worker ends on the first database error it did not expect
(a restart, a cut connection), and a task it was running when the database
vanished stays RUNNING. Here the loop waits the outage out and starts again,
and the task that was cut short is marked failed once the database is back
(its work is owned by rows, which the sweeps hand out again).
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from bounceback.background import leases

logger = logging.getLogger(__name__)


class ResilientWorker(Worker):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.current: str | None = None
        self.interrupted: str | None = None

    def run_task(self, db_task_result: DBTaskResult) -> None:
        self.current = str(db_task_result.pk)
        try:
            super().run_task(db_task_result)
        finally:
            self.current = None

    def _close_interrupted(self) -> None:
        if self.interrupted is None:
            return
        DBTaskResult.objects.filter(pk=self.interrupted, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            exception_class_path="django.db.utils.DatabaseError",
            traceback="The database went away while this task ran; its work was handed out again.",
        )
        self.interrupted = None

    def run(self) -> None:
        failures = 0
        while self.running:
            try:
                close_old_connections()
                self._close_interrupted()
                super().run()
                return
            except DatabaseError:
                leases.database_failed()
                if self.current is not None:
                    self.interrupted, self.current = self.current, None
                failures += 1
                self.running_task = False
                logger.warning(
                    "worker %s: database error (attempt %s); waiting for it to come back",
                    self.worker_id,
                    failures,
                    exc_info=True,
                )
                time.sleep(min(0.5 * 2**failures, 30.0))
