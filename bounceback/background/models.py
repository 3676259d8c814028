from __future__ import annotations

from django.db import models


class JobQuerySet(models.QuerySet["Job"]):
    def live(self) -> JobQuerySet:
        """Jobs with work still to do (waiting for their turn, or being run)."""
        return self.filter(state__in=[Job.State.WAITING, Job.State.RUNNING])


class Job(models.Model):
    """One piece of background work, owned by this row rather than by a queued task.

    A task in the queue only says "look at job X now". The row says what is to
    be done (`kind`, `subject_id`), whether someone is doing it (`lease_owner`
    until `lease_until`, renewed while the owner lives), and when it may run
    next (`due_at`). A task lost with Redis, a worker killed with SIGKILL or a
    database that went away mid-run all leave the row WAITING or with a lapsed
    lease, and the clock's sweep hands it out again. Jobs are keyed
    (`outreach:42`), so asking for work that is already waiting or running
    never makes a second job: it makes the running one go round again.
    """

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=40)
    subject_id = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    # When it may run next; while RUNNING it follows the lease, so "due and
    # live" is one indexed condition for waiting work and dead owners alike.
    due_at = models.DateTimeField()
    # Asked for again while running: the run goes round once more when it ends.
    again = models.BooleanField(default=False)
    # When a task was last handed to the backend for it; the sweep leaves the
    # row alone while that task may still be waiting in the queue.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Failed runs in a row (reset by a run that ends well) and every run started.
    attempts = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The last time the work moved forward, and what the handler said it did.
    progress_at = models.DateTimeField(null=True, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    stalled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="job_live_due_idx",
                condition=models.Q(state__in=["waiting", "running"]),
            ),
            models.Index(fields=["kind", "subject_id"], name="job_kind_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class WorkerBeat(models.Model):
    """A worker process saying it is alive; the clock in each worker writes it.

    Tasks the database backend marked RUNNING under a worker that has stopped
    beating are marked failed (their work is owned by rows and goes on), so no
    task row says "running" with nobody running it.
    """

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return self.worker_id
