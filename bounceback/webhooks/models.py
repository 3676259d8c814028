"""Inbound message channels (chat, social, SMS providers) and outbound webhooks.

Secrets are stored in the clear on purpose: verifying and producing an
HMAC needs the secret itself. The UI shows them masked and reveals a new one
once, right after it is made.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

# Where the generic JSON format keeps each field; a channel's `mapping`
# overrides any of these with a dotted path into the provider's JSON
# (`data.messages.0.from`: keys, and list indexes as numbers).
DEFAULT_MAPPING: dict[str, str] = {
    "message_id": "id",
    "sender_id": "sender.id",
    "sender_name": "sender.name",
    "sender_phone": "sender.phone",
    "sender_email": "sender.email",
    "text": "text",
    "thread_id": "thread",
    "timestamp": "timestamp",
}
# A message without these cannot be stored or answered.
REQUIRED_FIELDS = ("message_id", "sender_id", "text")


class InboundChannel(models.Model):
    """A provider that POSTs customer messages to /hooks/<slug>/ and takes our replies."""

    class Kind(models.TextChoices):
        CHAT = "chat", "Chat"
        SOCIAL = "social", "Social"
        SMS = "sms", "SMS"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    secret = models.CharField(max_length=128)
    # After a rotation the old secret still verifies until `previous_secret_until`,
    # so the provider can be switched over without losing messages.
    previous_secret = models.CharField(max_length=128, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    outbound_url = models.URLField(max_length=500, blank=True)
    # "signals": what the provider posts is recorded as a signal (a social
    # mention, a review feed) for discovery's rules, not filed on a case.
    delivers = models.CharField(
        max_length=10,
        choices=[("messages", "Messages to cases"), ("signals", "Signals for discovery")],
        default="messages",
    )
    outbound_secret = models.CharField(max_length=128, blank=True)
    active = models.BooleanField(default=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def source(self) -> str:
        """The `source` of the interactions and customer ids this channel writes."""
        return f"hook:{self.slug}"

    def effective_mapping(self) -> dict[str, str]:
        return {**DEFAULT_MAPPING, **(self.mapping or {})}


class WebhookSubscription(models.Model):
    """A receiver of our events: every event it wants is POSTed to `url`, signed."""

    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_delivery_state = models.CharField(max_length=12, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["active"], name="webhook_sub_active_idx")]

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


class WebhookDelivery(models.Model):
    """One event on its way to one subscription, with the outcome of the last try."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERING = "delivering", "Delivering"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=60)
    event_id = models.UUIDField()
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When it may be tried (first or next); while DELIVERING it follows the
    # lease, so a dead worker's delivery falls due again by itself.
    next_attempt_at = models.DateTimeField()
    lease_owner = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_response_excerpt = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_pending_idx",
                condition=models.Q(state__in=["pending", "delivering"]),
            ),
            models.Index(fields=["subscription", "-created_at", "-id"], name="webhook_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscription_id} ({self.state})"
