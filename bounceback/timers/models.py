from __future__ import annotations

from datetime import datetime

from django.db import models


class BusinessCalendar(models.Model):
    """Opening hours and holidays: a timer on a calendar counts only open time.

    `hours` maps a weekday ("0" is Monday) to a list of ["HH:MM", "HH:MM"]
    intervals in the calendar's own time zone; a missing day is closed.
    """

    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    hours = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_per_calendar")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class TimerQuerySet(models.QuerySet["Timer"]):
    def for_subject(self, subject_type: str, subject_id: int) -> TimerQuerySet:
        return self.filter(subject_type=subject_type, subject_id=subject_id)

    def active(self) -> TimerQuerySet:
        return self.filter(state__in=[Timer.State.RUNNING, Timer.State.PAUSED])

    def due(self, now: datetime) -> TimerQuerySet:
        return self.filter(next_fire_at__lte=now)

    def breached(self) -> TimerQuerySet:
        return self.filter(state=Timer.State.BREACHED)


class Timer(models.Model):
    """One running deadline: a row with its due time, claimed by workers when due.

    `next_fire_at` is the single indexed column workers poll: the earliest of
    the pending warning, the due time and the next escalation, or NULL when
    nothing is left to fire. Whoever changes a timer keeps it right by going
    through the services in timers/services.py.
    """

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        MET = "met", "Met"
        BREACHED = "breached", "Breached"
        CANCELLED = "cancelled", "Cancelled"

    # What the timer is about, e.g. ("case", 42); the handler for the subject
    # type is looked up in timers.handlers when the timer fires.
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_seconds = models.PositiveIntegerField(
        help_text="Time allowed (open time on a calendar)."
    )
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    remaining_seconds = models.PositiveIntegerField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalation_period_seconds = models.PositiveIntegerField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    next_fire_at = models.DateTimeField(null=True, blank=True)
    fire_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TimerQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["next_fire_at"],
                name="timer_next_fire_idx",
                condition=models.Q(next_fire_at__isnull=False),
            ),
            # A subject's timers; kind and breached_at ride along so the dashboards'
            # on-time rate per step (issue 17) reads a period's timers from the index
            # alone (one index, not a second one to keep on every insert).
            models.Index(
                fields=["subject_type", "subject_id", "state", "kind", "breached_at"],
                name="timer_subject_idx",
            ),
            models.Index(fields=["state", "due_at"], name="timer_state_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} timer for {self.subject_type} {self.subject_id} ({self.state})"
