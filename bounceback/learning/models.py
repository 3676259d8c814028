from __future__ import annotations

import hashlib

from django.db import models
from django.utils import timezone


class CaseText(models.Model):
    """A case's text as a vector (bounceback.learning.text), kept for similarity and themes.

    `vector` is float32 bytes: the hashed word counts, then the unit meaning
    vector. `digest` is a hash of the text it was made from, so a changed case
    is seen and made again.
    """

    case = models.OneToOneField(
        "cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="text_vector"
    )
    vector = models.BinaryField()
    version = models.PositiveSmallIntegerField()
    digest = models.CharField(max_length=32)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    theme = models.ForeignKey(
        "learning.Theme", null=True, blank=True, on_delete=models.SET_NULL, related_name="texts"
    )
    # Cosine to the theme's centre: the highest are the theme's representative cases.
    theme_fit = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["theme", "-theme_fit"])]

    def __str__(self) -> str:
        return f"text of case {self.case_id}"

    @staticmethod
    def digest_of(text: str) -> str:
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class ThemeModel(models.Model):
    """The latest theme computation: how a case's vector is placed among the themes.

    `weights` are the IDF weights and `projection` the LSA directions
    (float32 bytes) the themes' centres live in; a new case is assigned with
    them until the next recompute.
    """

    weights = models.BinaryField()
    projection = models.BinaryField()
    dims = models.PositiveSmallIntegerField()
    cases = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-computed_at", "-id"]
        get_latest_by = "computed_at"

    def __str__(self) -> str:
        return f"themes of {self.computed_at:%Y-%m-%d %H:%M}"


class ThemeQuerySet(models.QuerySet["Theme"]):
    def active(self) -> ThemeQuerySet:
        return self.filter(state=Theme.State.ACTIVE)


class Theme(models.Model):
    """A group of cases whose texts say the same kind of thing, found by clustering."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        MERGED = "merged", "Merged"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=120, blank=True, help_text="Given by staff.")
    label = models.CharField(max_length=200, help_text="Its most distinctive words.")
    words = models.JSONField(default=list, blank=True)
    centre = models.BinaryField(help_text="float32 bytes in the theme model's space")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    split_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="split_into"
    )
    proposal = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="themes",
    )
    case_count = models.PositiveIntegerField(default=0)
    recent_count = models.PositiveIntegerField(default=0, help_text="Cases in the last 7 days.")
    previous_count = models.PositiveIntegerField(
        default=0, help_text="Cases in the 21 days before those 7."
    )
    is_new = models.BooleanField(default=False)
    growing = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    computed_at = models.DateTimeField(default=timezone.now)

    objects = ThemeQuerySet.as_manager()

    class Meta:
        ordering = ["-case_count", "id"]
        indexes = [models.Index(fields=["state", "-case_count"])]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return self.name or self.label or f"Theme {self.pk}"


class Problem(models.Model):
    """Cases with one underlying cause, and what is done so it stops for good.

    Matching cases are those linked by hand, those of its theme and those of
    its failure mode. It is *verified fixed* only when the rate of matching
    cases per transaction after the corrective action is significantly lower
    than before (services.problem_verify); a scheduled check reopens it when
    the cases come back.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WATCHING = "watching", "Action taken, watching"
        VERIFIED_FIXED = "verified_fixed", "Verified fixed"
        REOPENED = "reopened", "Came back"

    reference = models.CharField(max_length=20, unique=True, null=True, blank=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    theme = models.ForeignKey(
        Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="problems"
    )
    failure_mode = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="problems",
    )
    root_cause = models.TextField(blank=True)
    corrective_action = models.TextField(blank=True)
    action_owner = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action_due = models.DateField(null=True, blank=True)
    action_done_at = models.DateTimeField(null=True, blank=True)
    workaround = models.TextField(blank=True, help_text="Shown on every new matching case.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    verified_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    # The latest recurrence check: counts, volumes, rates, rate ratio, p-value.
    last_check = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.reference or self.pk}: {self.title}"


class ProblemCase(models.Model):
    """A case put in a problem by hand."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="links")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="problem_links")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["problem", "case"], name="problem_case_unique")
        ]

    def __str__(self) -> str:
        return f"case {self.case_id} in problem {self.problem_id}"
