from __future__ import annotations

from django.db import models

from bounceback.customers.models import Channel


class OutboundMessageQuerySet(models.QuerySet["OutboundMessage"]):
    def pending(self) -> OutboundMessageQuerySet:
        return self.filter(
            state__in=[
                OutboundMessage.State.QUEUED,
                OutboundMessage.State.RETRYING,
                OutboundMessage.State.SENDING,
            ]
        )


class OutboundMessage(models.Model):
    """A message to a customer waiting for, or done with, delivery.

    Written in the same transaction as the step it belongs to, so a step is
    never recorded without its message nor a message sent for a step that
    rolled back. Workers' delivery lanes send it when due
    (`bounceback.background.deliveries`); delivery is at-least-once towards the
    mail server with a fixed Message-ID, and the row's state says exactly where
    each message is.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Waiting to retry"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        HELD = "held", "Held (outreach paused)"
        # A drill's message: kept to show what would have gone out, never sent.
        CAPTURED = "captured", "Captured by a drill (would have gone out)"

    channel = models.CharField(max_length=20, choices=Channel.choices)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    interaction = models.OneToOneField(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbound_message",
    )
    to_address = models.CharField(max_length=320)
    from_address = models.CharField(max_length=320, blank=True)
    reply_to = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # Unique and batch indexed through Meta, without PostgreSQL's second LIKE
    # index for each (both are only ever matched whole).
    message_id = models.CharField(max_length=300)
    in_reply_to = models.CharField(max_length=300, blank=True)
    references = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # Messages sent as one wave (a breakdown's outreach, an update) share a
    # batch, so the wave's progress can be counted and the wave paused.
    batch = models.CharField(max_length=60, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When it may be sent (its first time, or its next retry); while SENDING it
    # follows the lease, so a dead sender's message falls due again by itself.
    next_attempt_at = models.DateTimeField()
    lease_owner = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OutboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["message_id"], name="outbox_message_id_unique")
        ]
        indexes = [
            # A wave's progress is counted by state on every look at a breakdown:
            # with the state in the index that count need not visit 100,000 rows.
            models.Index(fields=["batch", "state"], name="outbox_batch_idx"),
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_pending_idx",
                condition=models.Q(state__in=["queued", "retrying", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to_address}: {self.subject or self.body_text[:40]}"


class ChannelStatus(models.Model):
    """How sending on one channel is going: its next free slot, and whether it is failing.

    Taking a slot is a conditional write on this row inside the claim, so the
    channel's rate holds across every worker and every retry storm. The
    delivery lanes also note here when sends on the channel start failing for
    a temporary reason (a mail server down) and when one gets through again,
    so pages can say "email has been failing since 10:02" without counting
    messages.
    """

    channel = models.CharField(max_length=20, primary_key=True)
    next_at = models.DateTimeField()
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.channel}: next at {self.next_at:%H:%M:%S.%f}"
