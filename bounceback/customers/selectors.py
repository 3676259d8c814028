from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Lower

from bounceback.customers.models import Customer, CustomerEmail, CustomerExternalId
from bounceback.interactions.models import Interaction
from bounceback.signals.models import Signal
from bounceback.transactions.models import Transaction

EntryKind = Literal["interaction", "transaction", "signal"]


@dataclass(frozen=True)
class TimelineEntry:
    kind: EntryKind
    at: datetime
    id: int
    item: Interaction | Transaction | Signal


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


# --- Timeline pages for the staff UI ------------------------------------------------

# At equal times interactions sort above signals above transactions; ids break
# the remaining ties.
_KIND_RANK = {"interaction": 2, "signal": 1, "transaction": 0}


@dataclass(frozen=True)
class TimelineCursor:
    """The last entry shown: the next page starts strictly after it in timeline order.

    Unlike a bare `before` time, this never skips entries that share the last
    entry's time (imports often give many rows the same midnight timestamp).
    """

    at: datetime
    kind: EntryKind | None = None
    id: int | None = None

    def encode(self) -> str:
        if self.kind is None or self.id is None:
            return self.at.isoformat()
        return f"{self.at.isoformat()},{self.kind},{self.id}"

    @classmethod
    def decode(cls, text: str) -> TimelineCursor | None:
        """The cursor `encode` wrote, or a bare ISO date-time; None when unreadable."""
        from django.utils import timezone
        from django.utils.dateparse import parse_datetime

        parts = text.strip().split(",")
        try:
            at = parse_datetime(parts[0])
        except ValueError:
            return None
        if at is None:
            return None
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        if len(parts) == 1:
            return cls(at=at)
        if len(parts) != 3 or parts[1] not in _KIND_RANK or not parts[2].isdigit():
            return None
        kind: EntryKind = (
            "interaction"
            if parts[1] == "interaction"
            else "signal"
            if parts[1] == "signal"
            else "transaction"
        )
        return cls(at=at, kind=kind, id=int(parts[2]))


def _after_cursor(cursor: TimelineCursor, kind: str) -> Q:
    earlier = Q(occurred_at__lt=cursor.at)
    if cursor.kind is None or cursor.id is None:
        return earlier
    rank, cursor_rank = _KIND_RANK[kind], _KIND_RANK[cursor.kind]
    if rank < cursor_rank:
        return earlier | Q(occurred_at=cursor.at)
    if rank == cursor_rank:
        return earlier | Q(occurred_at=cursor.at, id__lt=cursor.id)
    return earlier


def customer_timeline_page(
    *, customer: Customer, after: TimelineCursor | None = None, limit: int = 25
) -> tuple[list[TimelineEntry], TimelineCursor | None]:
    """One page of the customer's timeline, newest first, and the cursor of the next page.

    Each source (interactions, transactions, signals) is read already sorted
    and cut, then merged, so a page costs three indexed queries however long
    the history is. The next cursor is None
    on the last page.
    """
    interactions = Interaction.objects.filter(customer=customer)
    transactions = Transaction.objects.filter(customer=customer).select_related("site")
    signals = Signal.objects.filter(customer=customer).select_related("site")
    if after is not None:
        interactions = interactions.filter(_after_cursor(after, "interaction"))
        transactions = transactions.filter(_after_cursor(after, "transaction"))
        signals = signals.filter(_after_cursor(after, "signal"))
    i_entries = [
        TimelineEntry("interaction", row.occurred_at, row.pk, row)
        for row in interactions.order_by("-occurred_at", "-id")[: limit + 1]
    ]
    t_entries = [
        TimelineEntry("transaction", row.occurred_at, row.pk, row)
        for row in transactions.order_by("-occurred_at", "-id")[: limit + 1]
    ]
    s_entries = [
        TimelineEntry("signal", row.occurred_at, row.pk, row)
        for row in signals.order_by("-occurred_at", "-id")[: limit + 1]
    ]
    merged = list(
        heapq.merge(
            i_entries,
            t_entries,
            s_entries,
            key=lambda e: (e.at, _KIND_RANK[e.kind], e.id),
            reverse=True,
        )
    )[: limit + 1]
    page = merged[:limit]
    if len(merged) <= limit or not page:
        return page, None
    last = page[-1]
    return page, TimelineCursor(at=last.at, kind=last.kind, id=last.id)


def customer_list(*, query: str = "") -> QuerySet[Customer]:
    """Customers for the staff list, name order, with emails and phones prefetched."""
    return (
        Customer.objects.search(query).prefetch_related("emails", "phones").order_by("name", "id")
    )


# --- Customers named by other systems ---------------------------------------------------


@dataclass(frozen=True)
class CustomerRef:
    """How an item from outside names its customer: by id, by email, or by
    (source, external_id); the first one given counts."""

    customer_id: int | None = None
    email: str | None = None
    source: str | None = None
    external_id: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.customer_id or self.email or self.external_id)


def customer_ids_by_ref(refs: Sequence[CustomerRef]) -> list[int | None]:
    """The customer id each ref names (None: it names none, or one not stored).

    A few set-based queries for the whole batch: one for ids, one for emails
    (case-insensitive), one `external_id IN (...)` per source and 2,000 ids (an
    OR of (source AND id) pairs costs Django a WHERE node per pair to build).
    """
    ids = {r.customer_id for r in refs if r.customer_id}
    emails = {r.email.lower() for r in refs if r.email}
    per_source: dict[str, set[str]] = {}
    for r in refs:
        if r.external_id and r.source:
            per_source.setdefault(r.source, set()).add(r.external_id)
    known = set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    by_email: dict[str, int] = {}
    if emails:
        by_email = dict(
            CustomerEmail.objects.annotate(lower=Lower("address"))
            .filter(lower__in=emails)
            .values_list("lower", "customer_id")
        )
    by_external: dict[tuple[str, str], int] = {}
    for source, values in per_source.items():
        ordered = sorted(values)
        for start in range(0, len(ordered), 2000):
            by_external.update(
                ((source, e), c)
                for e, c in CustomerExternalId.objects.filter(
                    source=source, external_id__in=ordered[start : start + 2000]
                ).values_list("external_id", "customer_id")
            )
    found: list[int | None] = []
    for r in refs:
        if r.customer_id:
            found.append(r.customer_id if r.customer_id in known else None)
        elif r.email:
            found.append(by_email.get(r.email.lower()))
        elif r.external_id and r.source:
            found.append(by_external.get((r.source, r.external_id)))
        else:
            found.append(None)
    return found
