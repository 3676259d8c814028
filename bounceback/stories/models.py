"""Recovery stories told from closed, happy cases, and the recognition staff get for them.

Only `bounceback.stories.services` writes these rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


def tags_matching(tag: str) -> Q:
    """Stories carrying `tag`: tags are kept as one comma-joined, lower-case text
    ("billing,late-delivery") so the filter is a plain text match on every database."""
    tag = tag.strip().lower()
    return (
        Q(tags=tag)
        | Q(tags__startswith=f"{tag},")
        | Q(tags__endswith=f",{tag}")
        | Q(tags__contains=f",{tag},")
    )


class StoryQuerySet(models.QuerySet["Story"]):
    def search(self, text: str) -> StoryQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(title__icontains=text)
            | Q(what_went_wrong__icontains=text)
            | Q(what_we_did__icontains=text)
            | Q(gesture__icontains=text)
            | Q(customer_words__icontains=text)
            | Q(prevention_idea__icontains=text)
        )

    def tagged(self, tag: str) -> StoryQuerySet:
        return self.filter(tags_matching(tag)) if tag.strip() else self


class Story(models.Model):
    """What went wrong for a customer, what a staff member did and what the customer said."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        NOMINATED = "nominated", "Nominated"
        PUBLISHED = "published", "Published"

    # One story per case: drafting again finds the one already told.
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="story")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stories_written",
    )
    # Who made it right: the case's assignee when the story was drafted.
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stories_about",
    )
    title = models.CharField(max_length=200)
    what_went_wrong = models.TextField(blank=True)
    what_we_did = models.TextField(blank=True)
    gesture = models.TextField(blank=True)
    customer_words = models.TextField(blank=True)
    prevention_idea = models.TextField(blank=True)
    tags = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    # The customer agreed to be named; until then their name is left out.
    customer_named = models.BooleanField(default=False)
    nominated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    nominated_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    # The failure-mode proposal the prevention idea became, once it did.
    proposed_failure_mode = models.ForeignKey(
        "failuremodes.FailureMode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stories",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "stories"
        permissions = [("publish_story", "Can publish recovery stories")]
        indexes = [models.Index(fields=["state", "-created_at"], name="story_state_created_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


class Recognition(models.Model):
    """Kudos given now, or a monthly recognition, to a person (for a story or not)."""

    class Kind(models.TextChoices):
        KUDOS = "kudos", "Kudos"
        MONTHLY = "monthly", "Monthly recognition"

    story = models.ForeignKey(
        Story, null=True, blank=True, on_delete=models.CASCADE, related_name="recognitions"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recognitions"
    )
    # The person's team when recognised, so team counts do not move when people do.
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recognitions_given",
    )
    given_by_label = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["person", "kind"], name="recognition_person_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.person}"
