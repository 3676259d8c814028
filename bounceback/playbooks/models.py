"""Playbooks: the plan for one failure mode or breakdown type, kept in versions.

A version is never edited once written: revising a playbook writes a new
version (with its checklist, templates and compensation rows) and moves
`Playbook.current` to it, so a breakdown that started on version 3 keeps
following version 3.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bounceback.accounts.roles import Role
from bounceback.customers.models import Channel


class Playbook(models.Model):
    name = models.CharField(max_length=160, unique=True)
    failure_mode = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="playbooks",
    )
    breakdown_type = models.CharField(
        max_length=120, blank=True, help_text="For a breakdown type, e.g. 'power outage'."
    )
    current = models.ForeignKey(
        "PlaybookVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlaybookVersion(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    applies_when = models.TextField(help_text="When this playbook applies.")
    backup_resources = models.TextField(blank=True)
    # [{"name": ..., "role": ..., "phone": ..., "email": ...}, ...]
    escalation_contacts = models.JSONField(default=list, blank=True)
    change_note = models.CharField(max_length=300, blank=True)
    # Why this version was saved although the apology coach scored its first
    # message below the bar; blank when the coach was satisfied.
    coach_override_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["playbook", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "number"], name="playbook_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.playbook} v{self.number}"


class PlaybookAction(models.Model):
    """One checklist item: what to do, whose job it is, and how soon."""

    version = models.ForeignKey(PlaybookVersion, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    owner_role = models.CharField(max_length=20, choices=Role.choices)
    target_minutes = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "position", "id"]

    def __str__(self) -> str:
        return self.title


class TemplatePurpose(models.TextChoices):
    APOLOGY = "apology", "Apology"
    EXPLANATION = "explanation", "Explanation"
    ALTERNATIVES = "alternatives", "Alternatives offered"
    STATUS_UPDATE = "status_update", "Status update"
    ALL_CLEAR = "all_clear", "All-clear"


class PlaybookTemplate(models.Model):
    """A message to affected customers, per purpose, channel and language.

    Placeholders in subject and body are filled from the customer and the
    breakdown when sent (see playbooks/templating.py for the names allowed).
    """

    version = models.ForeignKey(PlaybookVersion, on_delete=models.CASCADE, related_name="templates")
    purpose = models.CharField(max_length=20, choices=TemplatePurpose.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.EMAIL)
    language = models.CharField(max_length=20, default="en")
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    coach_score = models.PositiveSmallIntegerField(null=True, blank=True)
    coach_findings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["version", "purpose", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "purpose", "channel", "language"],
                name="playbook_template_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.channel}, {self.language})"


class CompensationKind(models.TextChoices):
    REFUND = "refund", "Refund"
    CREDIT = "credit", "Credit"
    VOUCHER = "voucher", "Voucher"
    UPGRADE = "upgrade", "Upgrade"
    GIFT = "gift", "Gift"
    WAIVED_FEE = "waived_fee", "Waived fee"
    OTHER = "other", "Other"


class PlaybookCompensation(models.Model):
    """Compensation staff may give without asking, per customer segment.

    `segment` is a segment's slug ("all" for everyone); the recovery-fund
    feature spends these amounts.
    """

    version = models.ForeignKey(
        PlaybookVersion, on_delete=models.CASCADE, related_name="compensations"
    )
    segment = models.CharField(max_length=60, default="all")
    kind = models.CharField(max_length=20, choices=CompensationKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=settings.BOUNCEBACK_CURRENCY)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["version", "segment", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="playbook_compensation_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.segment}: {self.kind} {self.amount} {self.currency}"
