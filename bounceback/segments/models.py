"""Customer segments: rules over customer data, their members, and the approach each carries.

A segment's approach changes how cases of its customers are handled (a
severity floor, shorter timers, senior handling, guidance, a per-case
compensation tier). Read it through `segments.selectors.customer_approach`,
never by walking memberships yourself: a customer can be in several segments
and the combination rules live there.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from bounceback.accounts.roles import Role
from bounceback.cases.models import Severity


class SegmentQuerySet(models.QuerySet["Segment"]):
    def active(self) -> SegmentQuerySet:
        return self.filter(active=True)

    def in_priority_order(self) -> SegmentQuerySet:
        return self.order_by("priority", "id")


class Segment(models.Model):
    """A group of customers defined by rules, and how we treat them when something fails."""

    name = models.CharField(max_length=100)
    # Playbooks name segments by slug (PlaybookCompensation.segment); "all" is
    # reserved for everyone and is never a segment row.
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    # Conditions ANDed together: [{"field", "op", "value", "months"?}, ...],
    # validated by segments.rules.rules_clean before every save.
    rules = models.JSONField(default=list, blank=True)
    # Lower comes first: the first segment by priority leads the approach.
    priority = models.PositiveIntegerField(default=100)
    active = models.BooleanField(default=True)

    # The approach.
    minimum_severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        blank=True,
        help_text="Severity floor for new cases.",
    )
    timer_percent = models.PositiveSmallIntegerField(
        default=100, help_text="Recovery timers at this share of the policy (10-100)."
    )
    senior_handling = models.CharField(
        max_length=20,
        choices=Role.choices,
        blank=True,
        help_text="New cases are flagged for and notify people in this role.",
    )
    guidance = models.TextField(blank=True, help_text="Shown on every case of a member.")
    # A per-case amount that lifts any staff member's per-case limit for members.
    compensation_tier = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    compensation_currency = models.CharField(max_length=3, default=settings.BOUNCEBACK_CURRENCY)

    recomputed_at = models.DateTimeField(null=True, blank=True)
    # When the clock last queued a scheduled recompute: it claims a segment by
    # setting this so several clocks (or a slow queue) never queue it twice.
    recompute_queued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SegmentQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(timer_percent__gte=10, timer_percent__lte=100),
                name="segment_timer_percent_range",
            ),
            models.CheckConstraint(
                condition=models.Q(compensation_tier__isnull=True)
                | models.Q(compensation_tier__gt=Decimal("0")),
                name="segment_compensation_tier_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    """A customer in a segment, written only by segment_memberships_recompute."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    since = models.DateTimeField()

    class Meta:
        ordering = ["segment", "customer"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_unique"),
        ]
        indexes = [models.Index(fields=["customer", "segment"])]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class CustomerToRecompute(models.Model):
    """A customer whose data changed since their memberships were last worked out.

    The marks are the work list of the `segments_customers` job: a recompute
    lost to a database restart or a dead worker leaves its marks in place, and
    the job goes on from them. A customer changed again while being recomputed
    keeps a newer mark and is done again.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    marked_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"customer {self.customer_id} since {self.marked_at}"
