"""Reads of transactions for the staff pages."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from bounceback.sites.models import Site
from bounceback.transactions.models import Transaction

# The source of transactions staff enter by hand in the web UI.
STAFF_SOURCE = "staff"


def transaction_list(
    *,
    site: Site | None = None,
    kind: str = "",
    status: str = "",
    occurred_from: datetime | None = None,
    occurred_before: datetime | None = None,
) -> QuerySet[Transaction]:
    """Transactions newest first, filtered, with customer and site joined in."""
    rows = Transaction.objects.select_related("customer", "site").order_by("-occurred_at", "-id")
    if site is not None:
        rows = rows.filter(site=site)
    if kind:
        rows = rows.filter(kind=kind)
    if status:
        rows = rows.filter(status=status)
    if occurred_from is not None:
        rows = rows.filter(occurred_at__gte=occurred_from)
    if occurred_before is not None:
        rows = rows.filter(occurred_at__lt=occurred_before)
    return rows


def transaction_find(*, source: str, external_id: str) -> Transaction | None:
    return (
        Transaction.objects.select_related("customer")
        .filter(source=source, external_id=external_id)
        .first()
    )


def site_codes() -> list[tuple[str, str]]:
    """(code, name) of every site, for suggestions in forms."""
    return list(Site.objects.order_by("name").values_list("code", "name"))
