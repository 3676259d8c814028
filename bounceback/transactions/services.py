from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models.functions import Lower
from django.utils import timezone

from bounceback.customers.models import Customer, CustomerEmail, CustomerExternalId
from bounceback.customers.services import customers_refresh_lifetime_value
from bounceback.errors import NotFound, ServiceError, ValidationFailed
from bounceback.inputs import (
    choice_field,
    currency_field,
    datetime_field,
    decimal_field,
    object_field,
    text_field,
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
class CustomerRef:
    customer_id: int | None = None
    email: str | None = None
    source: str | None = None
    external_id: str | None = None


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


@dataclass
class ItemError:
    index: int
    code: str
    message: str
    field: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "code": self.code,
            "message": self.message,
            "field": self.field,
        }


@dataclass(frozen=True)
class StoredItem:
    id: int
    outcome: str  # "created", "updated" or "unchanged"


@dataclass
class UpsertResult:
    # For each input index that was stored: the row's id and what happened to it.
    stored: dict[int, StoredItem] = field(default_factory=dict)
    errors: list[ItemError] = field(default_factory=list)

    def _ids(self, outcome: str) -> list[int]:
        return [item.id for item in self.stored.values() if item.outcome == outcome]

    @property
    def created(self) -> list[int]:
        return self._ids("created")

    @property
    def updated(self) -> list[int]:
        return self._ids("updated")

    @property
    def unchanged(self) -> list[int]:
        return self._ids("unchanged")


def transaction_parse(*, data: Mapping[str, Any], default_source: str = "api") -> TransactionInput:
    """Check one transaction from the API or an import: known fields only, each
    parsed (money, currency, times) with the field named when it is wrong."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("each transaction must be a JSON object")
    unknown = sorted(data.keys() - _FIELD_SET)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}", field=unknown[0])
    ref = CustomerRef()
    raw_id = data.get("customer_id")
    if raw_id not in (None, ""):
        try:
            ref.customer_id = int(str(raw_id).strip())
        except ValueError:
            raise ValidationFailed(
                "customer_id must be a whole number", field="customer_id"
            ) from None
    ref.email = (
        text_field(data.get("customer_email"), field="customer_email", max_length=254, loose=True)
        or None
    )
    ref.external_id = (
        text_field(
            data.get("customer_external_id"),
            field="customer_external_id",
            max_length=200,
            loose=True,
        )
        or None
    )
    ref.source = (
        text_field(data.get("customer_source"), field="customer_source", max_length=60, loose=True)
        or None
    )
    if ref.external_id and not ref.source:
        raise ValidationFailed(
            "customer_source is required with customer_external_id", field="customer_source"
        )
    if not (ref.customer_id or ref.email or ref.external_id):
        raise ValidationFailed(
            "say whose transaction it is: customer_id, customer_email, "
            "or customer_source with customer_external_id",
            field="customer_id",
        )
    site = text_field(data.get("site"), field="site", max_length=60, loose=True)
    occurred_at = datetime_field(data.get("occurred_at"), field="occurred_at")
    assert occurred_at is not None
    return TransactionInput(
        customer=ref,
        kind=choice_field(data.get("kind"), field="kind", choices=_KINDS),
        source=text_field(data.get("source"), field="source", max_length=60, loose=True)
        or default_source,
        external_id=text_field(
            data.get("external_id"), field="external_id", max_length=200, loose=True
        )
        or None,
        amount=decimal_field(data.get("amount"), field="amount", minimum=Decimal("0")),
        currency=currency_field(data.get("currency")),
        occurred_at=occurred_at,
        scheduled_for=datetime_field(
            data.get("scheduled_for"), field="scheduled_for", required=False
        ),
        site_code=_site_code(site) if site else None,
        product=text_field(data.get("product"), field="product", max_length=200, loose=True),
        status=choice_field(
            data.get("status"),
            field="status",
            choices=_STATUSES,
            default=Transaction.Status.COMPLETED,
        ),
        attributes=object_field(data.get("attributes"), field="attributes"),
    )


def _resolve_customers(inputs: Sequence[TransactionInput]) -> dict[int, int | None]:
    """Map each input's position to a customer id (None when not found), in three queries."""
    ids = {i.customer.customer_id for i in inputs if i.customer.customer_id}
    emails = {i.customer.email.lower() for i in inputs if i.customer.email}
    externals = {
        (i.customer.source, i.customer.external_id) for i in inputs if i.customer.external_id
    }
    known_ids = (
        set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    )
    by_email: dict[str, int] = {}
    if emails:
        by_email = dict(
            CustomerEmail.objects.annotate(lower=Lower("address"))
            .filter(lower__in=emails)
            .values_list("lower", "customer_id")
        )
    # One `external_id IN (...)` per source: an OR of (source AND id) pairs costs
    # Django a WHERE node per pair to build.
    by_external: dict[tuple[str | None, str | None], int] = {}
    per_source: dict[str | None, list[str | None]] = {}
    for source, ext in externals:
        per_source.setdefault(source, []).append(ext)
    for source, exts in per_source.items():
        for start in range(0, len(exts), 2000):
            by_external.update(
                ((s, e), cid)
                for s, e, cid in CustomerExternalId.objects.filter(
                    source=source, external_id__in=exts[start : start + 2000]
                ).values_list("source", "external_id", "customer_id")
            )
    resolved: dict[int, int | None] = {}
    for pos, item in enumerate(inputs):
        ref = item.customer
        if ref.customer_id:
            resolved[pos] = ref.customer_id if ref.customer_id in known_ids else None
        elif ref.email:
            resolved[pos] = by_email.get(ref.email.lower())
        else:
            resolved[pos] = by_external.get((ref.source, ref.external_id))
    return resolved


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
                        adapt.amount(item.amount),
                        item.currency,
                        adapt.datetime(item.occurred_at),
                        adapt.datetime(item.scheduled_for),
                        site_id,
                        item.product,
                        item.status,
                        adapt.json(item.attributes),
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
            updates.append(
                (
                    customer_id,
                    item.kind,
                    adapt.amount(item.amount),
                    item.currency,
                    adapt.datetime(item.occurred_at),
                    adapt.datetime(item.scheduled_for),
                    site_id,
                    item.product,
                    item.status,
                    adapt.json(item.attributes),
                    stamp,
                    row_id,
                )
            )
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
    parsed: list[tuple[int, TransactionInput]] = []
    seen: dict[tuple[str, str], int] = {}
    for index, data in enumerate(items):
        try:
            item = transaction_parse(data=data, default_source=default_source)
        except ServiceError as exc:
            result.errors.append(ItemError(index, exc.code, exc.message, exc.field))
            continue
        if item.external_id:
            key = (item.source, item.external_id)
            if key in seen:
                result.errors.append(
                    ItemError(
                        index,
                        "duplicate_in_request",
                        f"external_id {item.external_id!r} already appears at index {seen[key]}",
                        "external_id",
                    )
                )
                continue
            seen[key] = index
        parsed.append((index, item))

    inputs = [item for _, item in parsed]
    customers = _resolve_customers(inputs)
    valid: list[tuple[int, TransactionInput, int]] = []
    for pos, (index, item) in enumerate(parsed):
        customer_id = customers[pos]
        if customer_id is None:
            message, where = _describe_ref(item.customer)
            result.errors.append(ItemError(index, "unknown_customer", message, where))
            continue
        valid.append((index, item, customer_id))
    if not valid:
        result.errors.sort(key=lambda e: e.index)
        return result

    # A concurrent upsert of the same external id can win the race between our
    # lookup and our insert; the unique constraint refuses ours, and a retry then
    # finds the row and updates it.
    for attempt in range(3):
        try:
            result.stored = _store(valid)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    result.errors.sort(key=lambda e: e.index)
    return result


def transaction_upsert(
    *, data: Mapping[str, Any], default_source: str = "api"
) -> tuple[Transaction, bool]:
    """Create or update one transaction; returns it and whether it was created."""
    result = transactions_upsert(items=[data], default_source=default_source)
    if result.errors:
        error = result.errors[0]
        if error.code == "unknown_customer":
            raise NotFound(error.message, field=error.field, code=error.code)
        raise ValidationFailed(error.message, field=error.field, code=error.code)
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
