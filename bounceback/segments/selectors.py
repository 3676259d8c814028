"""Reads: a customer's approach, segment lists and members."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, QuerySet

from bounceback.accounts.roles import ROLE_ORDER
from bounceback.cases.models import Severity
from bounceback.segments.models import Segment, SegmentMembership

if TYPE_CHECKING:
    from bounceback.customers.models import Customer

_SEVERITY_ORDER = list(Severity.values)


def _role_rank(role: str) -> int:
    return [str(r) for r in ROLE_ORDER].index(role)


def severity_rank(severity: str) -> int:
    return _SEVERITY_ORDER.index(severity) if severity in _SEVERITY_ORDER else -1


@dataclass(frozen=True)
class SegmentBrief:
    id: int
    name: str
    slug: str
    guidance: str
    priority: int


@dataclass(frozen=True)
class Approach:
    """How to treat one customer, combined from every active segment they are in.

    Combination rules: segments in priority order (the first leads); the
    highest severity floor; the lowest timer percentage (the shortest timers);
    the most senior handling role; the highest compensation tier. A customer in
    no segment gets the neutral approach (timers at 100%, nothing else).
    """

    segments: list[SegmentBrief] = field(default_factory=list)
    guidance: list[str] = field(default_factory=list)
    minimum_severity: str | None = None
    timer_percent: int = 100
    senior_handling: str | None = None
    per_case_limit_lift: Decimal | None = None
    currency: str = ""
    slugs: list[str] = field(default_factory=list)

    @property
    def lead(self) -> SegmentBrief | None:
        return self.segments[0] if self.segments else None

    def severity_for(self, severity: str) -> str:
        """The severity a new case opens with: the requested one, raised to the floor."""
        if self.minimum_severity and severity_rank(severity) < severity_rank(self.minimum_severity):
            return self.minimum_severity
        return severity

    def opened_data(self, requested_severity: str) -> dict[str, Any]:
        """What the approach changed on a new case, for its "opened" event (empty if nothing)."""
        if not self.segments:
            return {}
        data: dict[str, Any] = {"segments": self.slugs}
        if self.severity_for(requested_severity) != requested_severity:
            data["severity"] = [requested_severity, self.severity_for(requested_severity)]
        if self.timer_percent != 100:
            data["timer_percent"] = self.timer_percent
        if self.senior_handling:
            data["senior_handling"] = self.senior_handling
        return data

    def covers(self, slug: str) -> bool:
        """Whether a playbook compensation for `slug` applies ("all" is everyone)."""
        return slug == "all" or slug in self.slugs


def approach_from_segments(segments: list[Segment]) -> Approach:
    """Combine segments (already in priority order) into one approach; no queries."""
    currency = settings.BOUNCEBACK_CURRENCY
    if not segments:
        return Approach(currency=currency)
    floors = [s.minimum_severity for s in segments if s.minimum_severity]
    seniors = [s.senior_handling for s in segments if s.senior_handling in ROLE_ORDER]
    tiers = [
        s.compensation_tier
        for s in segments
        if s.compensation_tier is not None and s.compensation_currency == currency
    ]
    return Approach(
        segments=[
            SegmentBrief(
                id=s.pk, name=s.name, slug=s.slug, guidance=s.guidance, priority=s.priority
            )
            for s in segments
        ],
        guidance=[s.guidance.strip() for s in segments if s.guidance.strip()],
        minimum_severity=max(floors, key=severity_rank) if floors else None,
        timer_percent=min(s.timer_percent for s in segments),
        senior_handling=max(seniors, key=_role_rank) if seniors else None,
        per_case_limit_lift=max(tiers) if tiers else None,
        currency=currency,
        slugs=[s.slug for s in segments],
    )


def customer_segments(customer: Customer | int) -> list[Segment]:
    """The active segments a customer is in, in priority order (one query).

    Membership is what the last recompute wrote (recomputes run in tasks). Given
    a Customer instance, the answer is kept on it for the rest of its life (a
    request): the case page's segment and fund panels both ask about the same
    customer.
    """
    kept = getattr(customer, "_bounceback_segments", None)
    if kept is not None:
        return list(kept)
    customer_id = customer if isinstance(customer, int) else customer.pk
    found = list(
        Segment.objects.active().filter(memberships__customer_id=customer_id).in_priority_order()
    )
    if not isinstance(customer, int):
        customer._bounceback_segments = found  # type: ignore[attr-defined]
    return list(found)


def customer_approach(customer: Customer | int) -> Approach:
    """The approach for one customer (a Customer or its id): one query, or none when kept."""
    return approach_from_segments(customer_segments(customer))


def segments_with_counts() -> QuerySet[Segment]:
    return Segment.objects.annotate(member_count=Count("memberships")).in_priority_order()


def segment_members(segment: Segment) -> QuerySet[SegmentMembership]:
    """Members newest first, with the customer row for display."""
    return (
        SegmentMembership.objects.filter(segment=segment)
        .select_related("customer")
        .order_by("-since", "-id")
    )


def segment_preview_count(rules: Any) -> int:
    """How many customers the rules would match now; raises ValidationFailed on bad rules."""
    from bounceback.segments.rules import customers_matching, rules_clean

    return customers_matching(rules_clean(rules)).count()
