"""Generated repeat purchases that follow how each demo recovery went.

The demo's own booking history is drawn without regard to its cases, so on
its own the loyalty page would show noise. These purchases are generated (and
marked: source `demo-loyalty`, attribute `generated`) so the page tells the
story the research tells: customers whose recovery left them satisfied come
back most, those not recovered least: most customers not recovered also
cancel what they had bought since (bookings already delivered stay, and so
does anything the demo's scenarios are scheduled around). Deterministic for
a seed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bounceback.cases.models import Case
from bounceback.customers.models import CustomerExternalId
from bounceback.demo import business as biz
from bounceback.errors import ValidationFailed
from bounceback.transactions.models import Transaction
from bounceback.transactions.services import transaction_update, transactions_upsert

SOURCE = "demo-loyalty"
# Chance of a repeat purchase after the failure, and the days it comes after.
RETURN_ODDS: dict[str, tuple[float, int, int]] = {
    "satisfied": (0.85, 4, 28),
    "unsatisfied": (0.45, 10, 80),
    "not_recovered": (0.15, 25, 120),
}
# Chance that a customer not recovered cancels what they bought after the failure.
WALK_AWAY_ODDS = 0.9


def _outcome(case: Case) -> str:
    if case.fixed_at is not None and case.satisfied is True:
        return "satisfied"
    if case.fixed_at is not None and case.satisfied is False:
        return "unsatisfied"
    return "not_recovered"


def load_loyalty_story(*, now: datetime, seed: int) -> int:
    """Add repeat purchases after each customer's first demo case; returns how many."""
    rng = random.Random(seed * 7919 + 17)
    crm_keys = dict(
        CustomerExternalId.objects.filter(source=biz.CRM_SOURCE).values_list(
            "customer_id", "external_id"
        )
    )
    first_cases: dict[int, Case] = {}
    for case in Case.objects.order_by("created_at", "id"):
        first_cases.setdefault(case.customer_id, case)
    items: list[dict[str, Any]] = []
    for customer_id, case in sorted(first_cases.items()):
        settled = case.status == Case.Status.CLOSED or now - case.created_at >= timedelta(days=30)
        if customer_id not in crm_keys or not settled:
            continue
        outcome = _outcome(case)
        if outcome == "not_recovered" and rng.random() < WALK_AWAY_ODDS:
            _walk_away(case, now=now)
            continue
        odds, earliest, latest = RETURN_ODDS[outcome]
        if rng.random() >= odds:
            continue
        at = case.created_at + timedelta(days=rng.uniform(earliest, latest))
        if at >= now:
            continue
        items.append(
            {
                "customer_source": biz.CRM_SOURCE,
                "customer_external_id": crm_keys[customer_id],
                "kind": "order",
                "source": SOURCE,
                "external_id": f"REPEAT-{crm_keys[customer_id]}",
                "amount": str(
                    Decimal(rng.choice([45, 60, 85, 120, 160])).quantize(Decimal("0.01"))
                ),
                "currency": "USD",
                "occurred_at": at,
                "product": "Repeat booking",
                "status": "completed",
                "attributes": {"generated": "demo loyalty story"},
            }
        )
    if not items:
        return 0
    result = transactions_upsert(items=items, default_source=SOURCE)
    if result.errors:
        first = result.errors[0]
        raise ValidationFailed(f"demo repeat purchase refused: {first.message}", field=first.field)
    return len(result.stored)


def _walk_away(case: Case, *, now: datetime) -> None:
    later = (
        Transaction.objects.filter(
            customer_id=case.customer_id,
            occurred_at__gt=case.created_at,
            occurred_at__lte=now,
        )
        .exclude(status__in=Transaction.NOT_KEPT)
        .exclude(scheduled_for__gt=now)
    )
    for txn in later:
        transaction_update(transaction=txn, changes={"status": Transaction.Status.CANCELLED})
