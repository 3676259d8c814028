"""The failure-mode catalog: what can go wrong at each touchpoint, scored FMEA-style.

Severity, occurrence and detection are each scored 1-10 (10 is worst: most
severe, most frequent, hardest to notice before the customer does); their
product is the risk priority number, computed by the database so it can never
disagree with its factors.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

SCORE_VALIDATORS = [MinValueValidator(1), MaxValueValidator(10)]


class Touchpoint(models.Model):
    """A stage of the customer journey (booking, arrival, the show, billing...).

    With no site it applies to every site.
    """

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    site = models.ForeignKey(
        "sites.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="touchpoints"
    )
    position = models.PositiveIntegerField(
        default=0, help_text="Order in the customer journey, first stage first."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "site",
                name="touchpoint_name_unique_per_site",
                condition=models.Q(site__isnull=False),
            ),
            models.UniqueConstraint(
                Lower("name"),
                name="touchpoint_name_unique_all_sites",
                condition=models.Q(site__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FailureModeQuerySet(models.QuerySet["FailureMode"]):
    def accepted(self) -> FailureModeQuerySet:
        return self.filter(status=FailureMode.Status.ACCEPTED)

    def proposed(self) -> FailureModeQuerySet:
        return self.filter(status=FailureMode.Status.PROPOSED)

    def by_risk(self) -> FailureModeQuerySet:
        return self.order_by("-rpn", "-severity", "title", "id")


class FailureMode(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        RETIRED = "retired", "Retired"

    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.PROTECT, related_name="failure_modes"
    )
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    effect = models.TextField(blank=True, help_text="What the customer experiences.")
    cause = models.TextField(blank=True, help_text="Why it happens, as far as we know.")
    severity = models.PositiveSmallIntegerField(validators=SCORE_VALIDATORS)
    occurrence = models.PositiveSmallIntegerField(validators=SCORE_VALIDATORS)
    detection = models.PositiveSmallIntegerField(validators=SCORE_VALIDATORS)
    rpn = models.GeneratedField(
        expression=models.F("severity") * models.F("occurrence") * models.F("detection"),
        output_field=models.PositiveIntegerField(),
        db_persist=True,
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FailureModeQuerySet.as_manager()

    class Meta:
        ordering = ["touchpoint__position", "title", "id"]
        permissions = [("decide_failuremode", "Can accept or reject proposed failure modes")]
        constraints = [
            models.UniqueConstraint(
                Lower("title"), "touchpoint", name="failure_mode_title_unique_per_touchpoint"
            ),
            models.CheckConstraint(
                condition=models.Q(severity__gte=1, severity__lte=10),
                name="failure_mode_severity_1_10",
            ),
            models.CheckConstraint(
                condition=models.Q(occurrence__gte=1, occurrence__lte=10),
                name="failure_mode_occurrence_1_10",
            ),
            models.CheckConstraint(
                condition=models.Q(detection__gte=1, detection__lte=10),
                name="failure_mode_detection_1_10",
            ),
        ]
        indexes = [models.Index(fields=["status", "touchpoint"])]

    def __str__(self) -> str:
        return self.title


class FailureModeVote(models.Model):
    """A colleague's view on a proposed failure mode: +1 (real risk) or -1 (not one)."""

    failure_mode = models.ForeignKey(FailureMode, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    value = models.SmallIntegerField()
    comment = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["failure_mode", "voter"], name="one_vote_per_person"),
            models.CheckConstraint(
                condition=models.Q(value__in=[-1, 1]), name="vote_is_plus_or_minus_one"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.voter_id} {self.value:+d} on {self.failure_mode_id}"
