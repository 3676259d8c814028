"""Reads for the landing dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from bounceback.customers.models import Customer
from bounceback.interactions.models import Interaction
from bounceback.transactions.models import Transaction


@dataclass(frozen=True)
class Dashboard:
    customer_count: int
    new_customers_this_week: int
    transactions_this_week: int
    interactions_this_week: int
    week_start: datetime
    recent_interactions: list[Interaction]


def week_start(now: datetime | None = None) -> datetime:
    """Monday 00:00 of the current week, in the business time zone."""
    local = timezone.localtime(now or timezone.now())
    monday = local - timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def dashboard_summary(*, recent: int = 8) -> Dashboard:
    """Counts for this week and the latest interactions: five queries whatever the data size."""
    start = week_start()
    recent_rows = list(
        Interaction.objects.select_related("customer").order_by("-occurred_at", "-id")[:recent]
    )
    return Dashboard(
        customer_count=Customer.objects.count(),
        new_customers_this_week=Customer.objects.filter(created_at__gte=start).count(),
        transactions_this_week=Transaction.objects.filter(occurred_at__gte=start).count(),
        interactions_this_week=Interaction.objects.filter(occurred_at__gte=start).count(),
        week_start=start,
        recent_interactions=recent_rows,
    )
