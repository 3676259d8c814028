"""Breakdowns for tests: customers with bookings at a site in a window, and a declared breakdown."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.breakdowns.models import Breakdown
from bounceback.breakdowns.services import breakdown_declare
from bounceback.customers.models import Customer
from bounceback.sites.models import Site
from bounceback.testing.factories import (
    CustomerFactory,
    SiteFactory,
    TransactionFactory,
    UserFactory,
)
from bounceback.testing.playbooks_factories import make_playbook
from bounceback.transactions.models import Transaction


def tonight() -> tuple[datetime, datetime]:
    """A window from an hour ago to three hours from now."""
    now = timezone.now()
    return now - timedelta(hours=1), now + timedelta(hours=3)


def make_booked_customers(
    count: int,
    *,
    site: Site,
    at: datetime | None = None,
    kind: str = Transaction.Kind.BOOKING,
    attributes: dict[str, Any] | None = None,
    product: str = "",
    **customer: Any,
) -> list[Customer]:
    """`count` customers, each with one transaction at `site` happening at `at`."""
    at = at or timezone.now()
    people: list[Customer] = []
    for _ in range(count):
        person = cast(Customer, CustomerFactory(**customer))
        TransactionFactory(
            customer=person,
            site=site,
            kind=kind,
            occurred_at=at - timedelta(days=7),
            scheduled_for=at,
            attributes=attributes or {},
            product=product,
        )
        people.append(person)
    return people


def make_breakdown(
    *,
    actor: Any = None,
    playbook: Any = None,
    site: Any = ...,
    customers: int = 0,
    **kwargs: Any,
) -> Breakdown:
    """A declared breakdown at `site` tonight, with `customers` booked customers affected."""
    actor = actor or UserFactory(role=Role.LEAD)
    playbook = playbook or make_playbook()
    site = SiteFactory() if site is ... else site
    start, end = tonight()
    if customers:
        assert site is not None, "booked customers need a site"
        make_booked_customers(customers, site=site)
    values: dict[str, Any] = {
        "title": "Power cut at the hall",
        "window_start": start,
        "window_end": end,
        "site": site,
    }
    values.update(kwargs)
    return breakdown_declare(actor=actor, playbook=playbook, **values)


def make_booked_customers_in_bulk(
    count: int, *, site: Site, at: datetime | None = None, step: int = 20_000
) -> None:
    """`count` customers with an email and a booking at `site` at `at`, written set-based.

    For tests and benchmarks that need thousands of affected customers; the
    rows are what the importers would write, without a query per customer.
    """
    from decimal import Decimal

    from django.db import transaction

    from bounceback.bulk import allocate_ids, bulk_insert
    from bounceback.customers.models import CustomerEmail

    now = timezone.now()
    at = at or now + timedelta(hours=1)
    for first in range(0, count, step):
        n = min(step, count - first)
        with transaction.atomic():
            ids = allocate_ids(Customer, n)
            bulk_insert(
                Customer,
                varying={"id": ids, "name": [f"Guest {first + i + 1}" for i in range(n)]},
                constant={"lifetime_value": Decimal("0"), "tags": []},
                now=now,
            )
            bulk_insert(
                CustomerEmail,
                varying={
                    "id": allocate_ids(CustomerEmail, n),
                    "customer_id": ids,
                    "address": [f"guest{first + i + 1}@example.com" for i in range(n)],
                },
                constant={"is_primary": True},
                now=now,
            )
            bulk_insert(
                Transaction,
                varying={
                    "id": allocate_ids(Transaction, n),
                    "customer_id": ids,
                    "external_id": [f"B-{first + i + 1}" for i in range(n)],
                },
                constant={
                    "kind": "booking",
                    "source": "bench",
                    "amount": Decimal("80.00"),
                    "currency": "USD",
                    "occurred_at": now - timedelta(days=10),
                    "scheduled_for": at,
                    "site_id": site.pk,
                    "status": "confirmed",
                    "attributes": {},
                },
                now=now,
            )
