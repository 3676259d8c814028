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
