"""Drills: practising a playbook in a sandbox before it is needed.

A `Scenario` is a script: injects (synthetic complaints from customers with a
persona) arriving at offsets from the start, each with the responses expected
and their targets. A `Drill` runs one scenario live (injects arrive on the
clock) or as a tabletop exercise (a facilitator steps through them while a
scribe logs decisions). Every row a drill makes elsewhere is marked with it
(`Customer.drill`, `Case.drill`; gestures and messages hang off those), so the
outbox captures instead of sending and no report counts practice.

When a drill ends its objectives are measured and rated P/S/M/U, a readiness
score is kept per playbook and team, and a debrief is written.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from bounceback.customers.models import Channel


class Persona(models.TextChoices):
    ORDINARY = "ordinary", "Ordinary customer"
    CHRONIC = "chronic_complainer", "Angry chronic complainer"
    VIP = "vip", "VIP"
    SPANISH = "spanish", "Writes in Spanish"
    REFUND = "refund_outside_policy", "Wants a refund the policy does not allow"


class Scenario(models.Model):
    """A scripted sequence of injects for one playbook; generated or written, always editable."""

    playbook = models.ForeignKey(
        "playbooks.Playbook", on_delete=models.CASCADE, related_name="drill_scenarios"
    )
    failure_mode = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drill_scenarios",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Written by drills_library_generate (from the catalog) rather than by a person.
    generated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["playbook__name", "title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "title"], name="drill_scenario_title_unique"
            )
        ]

    def __str__(self) -> str:
        return self.title


class ScenarioInject(models.Model):
    """One synthetic complaint of a scenario: who writes, when, how, and what we expect back."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="injects")
    position = models.PositiveIntegerField(default=0)
    offset_minutes = models.PositiveIntegerField(default=0, help_text="After the drill starts.")
    persona = models.CharField(max_length=30, choices=Persona.choices, default=Persona.ORDINARY)
    customer_name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.EMAIL)
    language = models.CharField(max_length=20, default="en")
    summary = models.CharField(max_length=200)
    message = models.TextField()
    expected_response = models.TextField(blank=True)
    acknowledge_minutes = models.PositiveIntegerField(default=5)
    apologise_minutes = models.PositiveIntegerField(default=15)

    class Meta:
        ordering = ["scenario", "position", "id"]

    def __str__(self) -> str:
        return f"+{self.offset_minutes}m {self.get_persona_display()}: {self.summary}"


class DrillSchedule(models.Model):
    """Drills of one playbook on a rhythm (monthly, say); the clock opens each when due."""

    playbook = models.ForeignKey(
        "playbooks.Playbook", on_delete=models.CASCADE, related_name="drill_schedules"
    )
    scenario = models.ForeignKey(
        Scenario, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    every_days = models.PositiveIntegerField(default=30)
    mode = models.CharField(max_length=10, default="live")
    active = models.BooleanField(default=True)
    # When the next drill is opened (as scheduled for that moment).
    next_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["next_at", "id"]
        indexes = [
            models.Index(
                fields=["next_at"], name="drill_schedule_due_idx", condition=models.Q(active=True)
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "team"], name="drill_schedule_unique_per_team"
            )
        ]

    def __str__(self) -> str:
        return f"{self.playbook} every {self.every_days} days"


class Drill(models.Model):
    class Mode(models.TextChoices):
        LIVE = "live", "Live (injects arrive on the clock)"
        TABLETOP = "tabletop", "Tabletop (the facilitator steps through)"

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        ENDED = "ended", "Ended"
        CANCELLED = "cancelled", "Cancelled"

    title = models.CharField(max_length=200)
    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="drills")
    playbook = models.ForeignKey(
        "playbooks.Playbook", on_delete=models.PROTECT, related_name="drills"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.LIVE)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="drills"
    )
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drills_facilitated",
    )
    schedule = models.ForeignKey(
        DrillSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="drills"
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Live mode: when the next undelivered inject falls due (NULL: none left,
    # or not live). The clock reads only this indexed column.
    next_inject_at = models.DateTimeField(null=True, blank=True)
    # The debrief, written when the drill ends (see drills/debrief.py for its keys).
    debrief = models.JSONField(default=dict, blank=True)
    readiness = models.PositiveSmallIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_inject_at"],
                name="drill_inject_due_idx",
                condition=models.Q(state="running"),
            ),
            models.Index(fields=["playbook", "state", "-ended_at"], name="drill_playbook_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_running(self) -> bool:
        return self.state == self.State.RUNNING


class DrillParticipant(models.Model):
    class Role(models.TextChoices):
        RESPONDER = "responder", "Responder (works the cases)"
        SCRIBE = "scribe", "Scribe (logs decisions)"
        OBSERVER = "observer", "Observer"

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.RESPONDER)

    class Meta:
        ordering = ["drill", "id"]
        constraints = [
            models.UniqueConstraint(fields=["drill", "user"], name="drill_participant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class DrillInject(models.Model):
    """One inject of a running drill: copied from the scenario at start, delivered once.

    Delivery makes the synthetic customer and opens their case (both marked
    with the drill); `(drill, position)` is unique and `delivered_at` is set in
    the same transaction, so a clock that fires twice delivers once.
    """

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="injects")
    position = models.PositiveIntegerField()
    due_at = models.DateTimeField(null=True, blank=True)
    persona = models.CharField(max_length=30, choices=Persona.choices)
    customer_name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    language = models.CharField(max_length=20, default="en")
    summary = models.CharField(max_length=200)
    message = models.TextField()
    expected_response = models.TextField(blank=True)
    acknowledge_minutes = models.PositiveIntegerField(default=5)
    apologise_minutes = models.PositiveIntegerField(default=15)
    delivered_at = models.DateTimeField(null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["drill", "position"]
        constraints = [
            models.UniqueConstraint(fields=["drill", "position"], name="drill_inject_unique")
        ]

    def __str__(self) -> str:
        return f"{self.drill_id}#{self.position}: {self.summary}"


class DrillAction(models.Model):
    """A checklist item of the playbook, copied at start; done on time or not."""

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    owner_role = models.CharField(max_length=20, blank=True)
    target_minutes = models.PositiveIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["drill", "position", "id"]

    def __str__(self) -> str:
        return self.title


class DrillLogEntry(models.Model):
    """The scribe's log (a decision, an observation) and the drill's own milestones."""

    class Kind(models.TextChoices):
        DECISION = "decision", "Decision"
        NOTE = "note", "Observation"
        MILESTONE = "milestone", "Milestone"

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="log")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DECISION)
    text = models.TextField()
    inject = models.ForeignKey(
        DrillInject, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["drill", "at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.text[:40]}"


class Rating(models.TextChoices):
    """HSEEP's scale for how an objective was met."""

    P = "P", "Performed without challenges"
    S = "S", "Performed with some challenges"
    M = "M", "Performed with major challenges"
    U = "U", "Unable to be performed"


RATING_POINTS = {Rating.P: 100, Rating.S: 70, Rating.M: 40, Rating.U: 0}


class Objective(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", "Acknowledged in time"
    APOLOGISE = "apologise", "Apologised in time"
    APOLOGY_QUALITY = "apology_quality", "Apology the coach passes"
    CADENCE = "cadence", "Updates every 20 minutes until fixed"
    CHECKLIST = "checklist", "Checklist actions on time"
    GESTURES = "gestures", "Gestures within policy"
    FOLLOW_UP = "follow_up", "Follow-ups scheduled"


class DrillScore(models.Model):
    """One objective's measure and rating, for one participant or (user NULL) the team.

    `rating` is what the facilitator settled on; `measured_rating` is what the
    figures said. An adjustment keeps its reason, who and when (and an audit row).
    """

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="scores")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    objective = models.CharField(max_length=20, choices=Objective.choices)
    # What was measured, in words ("3 of 4 within 15 min; median 9 min").
    measure = models.CharField(max_length=300)
    # Share of the chances met, 0..1 (NULL: nothing to measure, not rated).
    met = models.FloatField(null=True, blank=True)
    measured_rating = models.CharField(max_length=1, choices=Rating.choices, blank=True)
    rating = models.CharField(max_length=1, choices=Rating.choices, blank=True)
    adjusted_reason = models.TextField(blank=True)
    adjusted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    adjusted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["drill", "user", "id"]
        # One score per person and objective, and one team score (no person) per
        # objective. Two partial constraints rather than NULLS NOT DISTINCT, which
        # SQLite does not have (it would silently create no constraint at all).
        constraints = [
            models.UniqueConstraint(
                fields=["drill", "user", "objective"],
                name="drill_score_unique",
                condition=models.Q(user__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["drill", "objective"],
                name="drill_team_score_unique",
                condition=models.Q(user__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.objective}: {self.rating or '-'}"


class ImprovementItem(models.Model):
    """An improvement-plan item from a debrief; it becomes a playbook revision or a
    failure-mode proposal through those apps' services."""

    class Kind(models.TextChoices):
        PLAYBOOK_REVISION = "playbook_revision", "Revise the playbook"
        FAILURE_MODE = "failure_mode", "Propose a failure mode"
        TRAINING = "training", "Coaching or training"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="improvements")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TRAINING)
    text = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=6, choices=State.choices, default=State.OPEN)
    playbook_version = models.ForeignKey(
        "playbooks.PlaybookVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    failure_mode = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["drill", "id"]

    def __str__(self) -> str:
        return self.text[:60]
