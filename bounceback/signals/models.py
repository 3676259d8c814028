"""Signals: what other systems tell us about a customer's experience.

A survey answer, a review, a social mention, an operational event (an order
late, a delivery failed, an outage at a site) or a message that is not yet a
case. Signals are facts that happened elsewhere: they are kept as first
recorded (re-sending one with the same source and external id changes
nothing), shown on the customer's timeline and read by discovery.
"""

from __future__ import annotations

from django.db import models


class SignalQuerySet(models.QuerySet["Signal"]):
    def between(self, start: object, end: object) -> SignalQuerySet:
        return self.filter(occurred_at__gte=start, occurred_at__lt=end)


class Signal(models.Model):
    class Kind(models.TextChoices):
        SURVEY = "survey", "Survey answer"
        REVIEW = "review", "Review"
        MENTION = "mention", "Social mention"
        OPERATIONAL = "operational", "Operational event"
        MESSAGE = "message", "Message"
        OTHER = "other", "Other"

    # Together with external_id it identifies the signal ("trustpilot", "surveys").
    source = models.CharField(max_length=60)
    external_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What happened, in the sending system's words: "order_late", "delivery_failed",
    # "nps", "outage". Rules and spike detection group by it.
    event = models.CharField(max_length=60, blank=True)
    occurred_at = models.DateTimeField()
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signals",
    )
    transaction = models.ForeignKey(
        "transactions.Transaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signals",
    )
    site = models.ForeignKey(
        "sites.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="signals"
    )
    product = models.CharField(max_length=200, blank=True)
    # Where it was posted or came from: "email", "twitter", "google", "app"...
    channel = models.CharField(max_length=40, blank=True)
    # The failure mode or category the sender filed it under, if any.
    category = models.CharField(max_length=120, blank=True)
    # Who wrote it when no customer is known (a social handle): spike detection
    # counts distinct authors, so one angry poster is one, not fifty.
    author = models.CharField(max_length=200, blank=True)
    csat = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 to 5")
    nps = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 to 10")
    rating = models.DecimalField(
        max_digits=3, decimal_places=1, null=True, blank=True, help_text="Stars, 0 to 5"
    )
    text = models.TextField(blank=True)
    # 0 (not negative) to 1 (very negative); None when there is no text to score.
    negativity = models.FloatField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SignalQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="signal_source_external_id_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["-occurred_at", "-id"], name="signal_recent_idx"),
            models.Index(fields=["customer", "-occurred_at"], name="signal_customer_idx"),
            models.Index(fields=["occurred_at", "kind"], name="signal_scan_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.source}/{self.external_id}"
