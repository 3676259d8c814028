from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Channel(models.TextChoices):
    """The ways a customer and the business reach each other."""

    EMAIL = "email", "Email"
    WEB = "web", "Web"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone"
    SOCIAL = "social", "Social"
    SMS = "sms", "SMS"
    IN_PERSON = "in_person", "In person"


class CustomerQuerySet(models.QuerySet["Customer"]):
    def search(self, text: str) -> CustomerQuerySet:
        """Customers whose name, email, phone or external id contains the text."""
        text = text.strip()
        if not text:
            return self
        digits = "".join(ch for ch in text if ch.isdigit())
        # One subquery per identity table, not a join of all of them: the join
        # multiplies every customer by their emails and ids before matching
        # (4 times slower at 30,000 customers, for the page and its count).
        match = (
            models.Q(name__icontains=text)
            | models.Q(
                pk__in=CustomerEmail.objects.filter(address__icontains=text).values("customer_id")
            )
            | models.Q(
                pk__in=CustomerExternalId.objects.filter(external_id__iexact=text).values(
                    "customer_id"
                )
            )
        )
        if len(digits) >= 4:
            match |= models.Q(
                pk__in=CustomerPhone.objects.filter(number__contains=digits).values("customer_id")
            )
        return self.filter(match)

    def with_identities(self) -> CustomerQuerySet:
        return self.prefetch_related("emails", "phones", "external_ids")

    def real(self) -> CustomerQuerySet:
        """Customers who exist: every one but a drill's synthetic customers."""
        return self.filter(drill__isnull=True)


class Customer(models.Model):
    name = models.CharField(max_length=200)
    preferred_channel = models.CharField(
        max_length=20, choices=Channel.choices, default=Channel.EMAIL
    )
    locale = models.CharField(max_length=20, default="en")
    time_zone = models.CharField(max_length=64, default="UTC")
    notes = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    # Kept up to date by the transaction services (sum of kept transactions in
    # the business currency) so segments and lists can sort and filter on it.
    lifetime_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    lifetime_value_currency = models.CharField(max_length=3, default=settings.BOUNCEBACK_CURRENCY)
    # A drill's synthetic customer (bounceback/drills): nothing sent to them
    # leaves the outbox, and no segment, loyalty figure or report counts them.
    # Indexed only where set: almost every customer is real.
    drill = models.ForeignKey(
        "drills.Drill",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["lifetime_value"]),
            models.Index(
                fields=["drill"],
                name="customer_drill_idx",
                condition=models.Q(drill__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def primary_email(self) -> str | None:
        emails = list(self.emails.all())
        primary = next((e for e in emails if e.is_primary), emails[0] if emails else None)
        return primary.address if primary else None

    @property
    def primary_phone(self) -> str | None:
        phones = list(self.phones.all())
        primary = next((p for p in phones if p.is_primary), phones[0] if phones else None)
        return primary.number if primary else None


class CustomerEmail(models.Model):
    """One email address of a customer. An address belongs to one customer only."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    address = models.EmailField(max_length=254)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(Lower("address"), name="customer_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.address


class CustomerPhone(models.Model):
    """One phone number, stored normalised (+ and digits) so lookups match."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=32, unique=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.number


class CustomerExternalId(models.Model):
    """The customer's id in another system (booking tool, shop, CRM)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=60)
    external_id = models.CharField(max_length=200)

    class Meta:
        ordering = ["source", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="customer_external_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"
