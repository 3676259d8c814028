from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.db.models import Count, Sum

from bounceback.customers.models import Customer
from bounceback.interactions.models import Interaction
from bounceback.transactions.models import Transaction


@dataclass(frozen=True)
class TimelineEntry:
    kind: Literal["interaction", "transaction"]
    at: datetime
    id: int
    item: Interaction | Transaction


def customer_timeline(
    *, customer: Customer, before: datetime | None = None, limit: int = 50
) -> list[TimelineEntry]:
    """Interactions and transactions of one customer, newest first.

    Each source is read already sorted and cut at `limit`, then merged, so the
    cost stays two indexed queries however long the history is. Page on with
    `before` set to the last entry's time.
    """
    interactions = Interaction.objects.filter(customer=customer).select_related("author")
    transactions = Transaction.objects.filter(customer=customer).select_related("site")
    if before is not None:
        interactions = interactions.filter(occurred_at__lt=before)
        transactions = transactions.filter(occurred_at__lt=before)
    i_entries = [
        TimelineEntry("interaction", row.occurred_at, row.pk, row)
        for row in interactions.order_by("-occurred_at", "-id")[:limit]
    ]
    t_entries = [
        TimelineEntry("transaction", row.occurred_at, row.pk, row)
        for row in transactions.order_by("-occurred_at", "-id")[:limit]
    ]
    merged = heapq.merge(i_entries, t_entries, key=lambda e: (e.at, e.id), reverse=True)
    return list(merged)[:limit]


@dataclass(frozen=True)
class ValueSummary:
    currency: str
    total: Decimal
    count: int


def customer_value_by_currency(*, customer: Customer) -> list[ValueSummary]:
    """Kept spend per currency, largest first.

    The stored lifetime value counts only the business currency; this shows all.
    """
    rows = (
        Transaction.objects.filter(customer=customer)
        .counts_towards_value()
        .values("currency")
        .annotate(total=Sum("amount"), count=Count("id"))
        .order_by("-total")
    )
    cent = Decimal("0.01")
    return [
        ValueSummary(r["currency"], (r["total"] or Decimal("0")).quantize(cent), r["count"])
        for r in rows
    ]
