from __future__ import annotations

from django.conf import settings
from django.db import models


class CannedReplyQuerySet(models.QuerySet["CannedReply"]):
    def active(self) -> CannedReplyQuerySet:
        return self.filter(archived=False)


class CannedReply(models.Model):
    """A reusable text staff insert into a message to the customer, with placeholders.

    Written through `replies.services` only: each save scores the text with the
    apology coach (on sample values) and keeps the score and findings, so the
    list shows which replies need work before anyone sends them.
    """

    class Purpose(models.TextChoices):
        APOLOGY = "apology", "Apology"
        UPDATE = "update", "Progress update"
        FOLLOW_UP = "follow_up", "Follow-up"
        OTHER = "other", "Other"

    title = models.CharField(max_length=120, unique=True)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.APOLOGY)
    body = models.TextField()
    coach_score = models.PositiveSmallIntegerField(null=True, blank=True)
    coach_threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    # The coach's findings when last saved: [{code, kind, message, suggestion, excerpt}].
    coach_findings = models.JSONField(default=list, blank=True)
    archived = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CannedReplyQuerySet.as_manager()

    class Meta:
        ordering = ["purpose", "title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title

    @property
    def below_bar(self) -> bool:
        """An apology the coach scores under the bar: sending it as it is needs an override."""
        return (
            self.purpose == self.Purpose.APOLOGY
            and self.coach_score is not None
            and self.coach_threshold is not None
            and self.coach_score < self.coach_threshold
        )
