from __future__ import annotations

from django.conf import settings
from django.db import models

from bounceback.customers.models import Channel


class Interaction(models.Model):
    """One message or contact with a customer, on any channel, in either direction."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "From the customer"
        OUTBOUND = "outbound", "To the customer"
        INTERNAL = "internal", "Internal note"

    # Indexed by (customer, occurred_at) below.
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="interactions",
        db_index=False,
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    channel = models.CharField(max_length=20, choices=Channel.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
        help_text="The staff member who wrote or logged it.",
    )
    author_name = models.CharField(
        max_length=200,
        blank=True,
        help_text="Who wrote it, as shown (the customer's name inbound).",
    )
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    occurred_at = models.DateTimeField()
    # Groups messages of one conversation: an email Message-ID chain, a chat id.
    # Indexed in Meta: a plain index, without PostgreSQL's second LIKE index
    # (thread references are only ever matched whole).
    thread_ref = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=60, default="staff")
    external_id = models.CharField(max_length=300, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="interaction_source_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"]),
            models.Index(fields=["-occurred_at", "-id"]),
            models.Index(fields=["thread_ref"], name="interaction_thread_idx"),
        ]

    def __str__(self) -> str:
        channel, direction = self.get_channel_display(), self.get_direction_display()
        return f"{channel} {direction} {self.occurred_at:%Y-%m-%d}"
