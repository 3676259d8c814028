from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import transaction as db_transaction
from django.utils import timezone

from bounceback.customers.selectors import CustomerRef, customer_ids_by_ref
from bounceback.customers.services import customers_refresh_lifetime_value
from bounceback.errors import ValidationFailed
from bounceback.ingest import (
    IngestResult,
    ItemError,
    StoredItem,
    item_error_raise,
    items_parse,
    store_retrying,
)
from bounceback.inputs import (
    choice_field,
    currency_field,
    datetime_field,
    decimal_field,
    item_text,
    object_field,
)
from bounceback.sites.services import site_code_normalise, sites_ensure
from bounceback.transactions import bulk_writes
from bounceback.transactions.models import Transaction

# Fields a caller may send for one transaction.
FIELDS = (
    "customer_id",
    "customer_email",
    "customer_source",
    "customer_external_id",
    "kind",
    "source",
    "external_id",
    "amount",
    "currency",
    "occurred_at",
    "scheduled_for",
    "site",
    "product",
    "status",
    "attributes",
)
# Choice lists are rebuilt on every access of `.values`; parse against fixed copies.
_KINDS = tuple(Transaction.Kind.values)
_STATUSES = tuple(Transaction.Status.values)
_FIELD_SET = frozenset(FIELDS)


@lru_cache(maxsize=4096)
def _site_code(code: str) -> str:
    """Site codes repeat across a batch; slugify each distinct one once."""
    return site_code_normalise(code=code)


_WRITTEN = [
    "customer",
    "kind",
    "amount",
    "currency",
    "occurred_at",
    "scheduled_for",
    "site",
    "product",
    "status",
    "attributes",
]


@dataclass
class TransactionInput:
    """One transaction after parsing: types checked, references not yet resolved."""

    customer: CustomerRef
    kind: str
    source: str
    external_id: str | None
    amount: Decimal
    currency: str
    occurred_at: datetime
    scheduled_for: datetime | None
    site_code: str | None
    product: str
    status: str
    attributes: dict[str, Any]


class UpsertResult(IngestResult):
    @property
    def created(self) -> list[int]:
        return self.ids("created")

    @property
    def updated(self) -> list[int]:
        return self.ids("updated")

    @property
    def unchanged(self) -> list[int]:
        return self.ids("unchanged")


def transaction_parse(*, data: Mapping[str, Any], default_source: str = "api") -> TransactionInput:
    """Check one transaction from the API or an import: known fields only, each
    parsed (money, currency, times) with the field named when it is wrong."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("each transaction must be a JSON object")
    unknown = sorted(data.keys() - _FIELD_SET)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}", field=unknown[0])
    customer_id: int | None = None
    raw_id = data.get("customer_id")
    if raw_id not in (None, ""):
        try:
            customer_id = int(str(raw_id).strip())
        except ValueError:
            raise ValidationFailed(
                "customer_id must be a whole number", field="customer_id"
            ) from None
    ref = CustomerRef(
        customer_id=customer_id,
        email=item_text(data, "customer_email", 254) or None,
        external_id=item_text(data, "customer_external_id", 200) or None,
        source=item_text(data, "customer_source", 60) or None,
    )
    if ref.external_id and not ref.source:
        raise ValidationFailed(
            "customer_source is required with customer_external_id", field="customer_source"
        )
    if not ref.given:
        raise ValidationFailed(
            "say whose transaction it is: customer_id, customer_email, "
            "or customer_source with customer_external_id",
            field="customer_id",
        )
    site = item_text(data, "site", 60)
    occurred_at = datetime_field(data.get("occurred_at"), field="occurred_at")
    assert occurred_at is not None
    return TransactionInput(
        customer=ref,
        kind=choice_field(data.get("kind"), field="kind", choices=_KINDS),
        source=item_text(data, "source", 60) or default_source,
        external_id=item_text(data, "external_id", 200) or None,
        amount=decimal_field(data.get("amount"), field="amount", minimum=Decimal("0")),
        currency=currency_field(data.get("currency")),
        occurred_at=occurred_at,
        scheduled_for=datetime_field(
            data.get("scheduled_for"), field="scheduled_for", required=False
        ),
        site_code=_site_code(site) if site else None,
        product=item_text(data, "product", 200),
        status=choice_field(
            data.get("status"),
            field="status",
            choices=_STATUSES,
            default=Transaction.Status.COMPLETED,
        ),
        attributes=object_field(data.get("attributes"), field="attributes"),
    )


def _describe_ref(ref: CustomerRef) -> tuple[str, str]:
    if ref.customer_id:
        return f"no customer with id {ref.customer_id}", "customer_id"
    if ref.email:
        return f"no customer with email {ref.email}", "customer_email"
    return (f"no customer with {ref.source} id {ref.external_id}", "customer_external_id")


# The stored values an upsert compares against, in bulk_writes.UPDATED order
# (without updated_at).
_COMPARED = bulk_writes.UPDATED[:-1]


def _existing(inputs: Sequence[TransactionInput]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Stored rows for the inputs' external ids: (source, external_id) -> (id, *compared).

    Which ids exist is asked in plain SQL (cheap for 10,000 new rows); only rows
    that do exist are read through the ORM, for their values to compare.
    """
    by_source: dict[str, set[str]] = {}
    for item in inputs:
        if item.external_id:
            by_source.setdefault(item.source, set()).add(item.external_id)
    ids: dict[int, tuple[str, str]] = {}
    for source, external_ids in by_source.items():
        stored = bulk_writes.ids_by_external_id(source=source, external_ids=sorted(external_ids))
        ids.update({row_id: (source, external_id) for external_id, row_id in stored.items()})
    found: dict[tuple[str, str], tuple[Any, ...]] = {}
    id_list = sorted(ids)
    for start in range(0, len(id_list), 2000):
        rows = (
            Transaction.objects.filter(pk__in=id_list[start : start + 2000])
            .order_by()
            .values_list("id", *_COMPARED)
        )
        for row in rows:
            found[ids[row[0]]] = tuple(row)
    return found


def _adapted(
    adapt: bulk_writes.Adapters, item: TransactionInput, site_id: int | None
) -> tuple[Any, ...]:
    """The written values an insert and an update share, adapted for the database:
    amount, currency, occurred_at, scheduled_for, site, product, status, attributes."""
    return (
        adapt.amount(item.amount),
        item.currency,
        adapt.datetime(item.occurred_at),
        adapt.datetime(item.scheduled_for),
        site_id,
        item.product,
        item.status,
        adapt.json(item.attributes),
    )


def _store(valid: Sequence[tuple[int, TransactionInput, int]]) -> dict[int, StoredItem]:
    """Write the valid items in one database transaction; returns what each index became."""
    adapt = bulk_writes.Adapters()
    stamp = adapt.datetime(timezone.now())
    outcomes: dict[int, StoredItem] = {}
    with db_transaction.atomic():
        sites = sites_ensure(codes={i.site_code for _, i, _ in valid if i.site_code})
        existing = _existing([i for _, i, _ in valid])
        inserts: list[tuple[Any, ...]] = []
        insert_indexes: list[int] = []
        updates: list[tuple[Any, ...]] = []
        touched_customers: set[int] = set()
        for index, item, customer_id in valid:
            site_id = sites[item.site_code].pk if item.site_code else None
            values = (
                customer_id,
                item.kind,
                item.amount,
                item.currency,
                item.occurred_at,
                item.scheduled_for,
                site_id,
                item.product,
                item.status,
                item.attributes,
            )
            stored = existing.get((item.source, item.external_id)) if item.external_id else None
            if stored is None:
                inserts.append(
                    (
                        customer_id,
                        item.kind,
                        item.source,
                        item.external_id,
                        *_adapted(adapt, item, site_id),
                        stamp,
                        stamp,
                    )
                )
                insert_indexes.append(index)
                touched_customers.add(customer_id)
                continue
            row_id, *before = stored
            if tuple(before) == values:
                outcomes[index] = StoredItem(row_id, "unchanged")
                continue
            touched_customers.update({before[0], customer_id})
            updates.append((customer_id, item.kind, *_adapted(adapt, item, site_id), stamp, row_id))
            outcomes[index] = StoredItem(row_id, "updated")
        new_ids = bulk_writes.insert_rows(inserts)
        for index, new_id in zip(insert_indexes, new_ids, strict=True):
            outcomes[index] = StoredItem(new_id, "created")
        bulk_writes.update_rows(updates)
        customers_refresh_lifetime_value(customer_ids=sorted(touched_customers))
    return outcomes


def transactions_upsert(
    *, items: Sequence[Mapping[str, Any]], default_source: str = "api"
) -> UpsertResult:
    """Store every valid item; report each invalid one with its index and reason.

    Items with an external id update the row with the same (source, external_id)
    instead of adding a second one. An invalid item changes nothing; valid
    items are stored together in one database transaction.
    """
    result = UpsertResult()
    parsed = items_parse(
        items,
        parse=lambda data: transaction_parse(data=data, default_source=default_source),
        errors=result.errors,
    )
    customers = customer_ids_by_ref([item.customer for _, item in parsed])
    valid: list[tuple[int, TransactionInput, int]] = []
    for pos, (index, item) in enumerate(parsed):
        customer_id = customers[pos]
        if customer_id is None:
            message, where = _describe_ref(item.customer)
            result.errors.append(ItemError(index, "unknown_customer", message, where))
            continue
        valid.append((index, item, customer_id))
    if valid:
        # A retry finds the row a concurrent upsert inserted first, and updates it.
        result.stored = store_retrying(lambda: _store(valid))
    result.errors.sort(key=lambda e: e.index)
    return result


def transaction_upsert(
    *, data: Mapping[str, Any], default_source: str = "api"
) -> tuple[Transaction, bool]:
    """Create or update one transaction; returns it and whether it was created."""
    result = transactions_upsert(items=[data], default_source=default_source)
    item_error_raise(result.errors, not_found={"unknown_customer"})
    stored = result.stored[0]
    return Transaction.objects.get(pk=stored.id), stored.outcome == "created"


def transaction_update(*, transaction: Transaction, changes: Mapping[str, Any]) -> Transaction:
    """Change some fields of a stored transaction (the customer and identity stay)."""
    fixed = {
        "customer_id",
        "customer_email",
        "customer_source",
        "customer_external_id",
        "source",
        "external_id",
    }
    refused = sorted(set(changes) & fixed)
    if refused:
        raise ValidationFailed(f"{refused[0]} cannot be changed", field=refused[0])
    merged: dict[str, Any] = {
        "customer_id": transaction.customer_id,
        "kind": transaction.kind,
        "source": transaction.source,
        "amount": transaction.amount,
        "currency": transaction.currency,
        "occurred_at": transaction.occurred_at,
        "scheduled_for": transaction.scheduled_for,
        "site": transaction.site.code if transaction.site_id and transaction.site else None,
        "product": transaction.product,
        "status": transaction.status,
        "attributes": transaction.attributes,
    }
    merged.update(changes)
    item = transaction_parse(data=merged)
    with db_transaction.atomic():
        row = Transaction.objects.select_for_update().get(pk=transaction.pk)
        sites = sites_ensure(codes={item.site_code} if item.site_code else set())
        row.kind = item.kind
        row.amount = item.amount
        row.currency = item.currency
        row.occurred_at = item.occurred_at
        row.scheduled_for = item.scheduled_for
        row.site = sites[item.site_code] if item.site_code else None
        row.product = item.product
        row.status = item.status
        row.attributes = item.attributes
        row.save(update_fields=[*_WRITTEN[1:], "updated_at"])
        customers_refresh_lifetime_value(customer_ids=[row.customer_id])
    return row
