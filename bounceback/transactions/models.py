from __future__ import annotations

from django.db import models


class TransactionQuerySet(models.QuerySet["Transaction"]):
    def counts_towards_value(self) -> TransactionQuerySet:
        """Transactions the customer actually paid for and kept."""
        return self.exclude(status__in=Transaction.NOT_KEPT)

    def at_site(self, code: str) -> TransactionQuerySet:
        return self.filter(site__code=code)

    def scheduled_between(self, start: object, end: object) -> TransactionQuerySet:
        return self.filter(scheduled_for__gte=start, scheduled_for__lt=end)


class Transaction(models.Model):
    """Something a customer bought or booked: the ground truth for who a failure hits."""

    class Kind(models.TextChoices):
        ORDER = "order", "Order"
        BOOKING = "booking", "Booking"
        APPOINTMENT = "appointment", "Appointment"
        SUBSCRIPTION = "subscription", "Subscription"
        VISIT = "visit", "Visit"
        DELIVERY = "delivery", "Delivery"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"
        FAILED = "failed", "Failed"

    NOT_KEPT = (Status.CANCELLED, Status.REFUNDED, Status.FAILED)

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="transactions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Where the row came from ("api", "shopify", "bookings-csv"...). Together with
    # external_id it identifies the row, so re-sending it updates it.
    source = models.CharField(max_length=60, default="api")
    external_id = models.CharField(max_length=200, null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField(help_text="When it was bought or booked.")
    scheduled_for = models.DateTimeField(
        null=True, blank=True, help_text="When the service is delivered, if later."
    )
    site = models.ForeignKey(
        "sites.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    product = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETED)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TransactionQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="transaction_source_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"]),
            models.Index(fields=["site", "scheduled_for"]),
            models.Index(fields=["scheduled_for"]),
            models.Index(fields=["-occurred_at", "-id"]),
        ]

    def __str__(self) -> str:
        label = self.external_id or self.pk
        return f"{self.get_kind_display()} {label} ({self.amount} {self.currency})"
