"""Recording signals, one or ten thousand at a time.

Every way in (the API, the bulk API, CSV imports, an inbound webhook channel
set to deliver signals) ends in `signals_record_many`: items are checked one by
one (a bad item is reported with its index and changes nothing), references to
customers, transactions and sites are resolved in a few set-based queries, and
new rows are written with `bounceback.bulk.bulk_insert` in one transaction.
A signal is a fact that happened elsewhere: sending the same source and
external id again answers "unchanged" and stores nothing, so senders may retry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction as db_transaction
from django.utils import timezone

from bounceback.bulk import allocate_ids, bulk_insert
from bounceback.customers.selectors import CustomerRef, customer_ids_by_ref
from bounceback.errors import ValidationFailed
from bounceback.ingest import (
    IngestResult,
    ItemError,
    StoredItem,
    item_error_raise,
    items_parse,
    store_retrying,
)
from bounceback.inputs import choice_field, datetime_field, item_text, object_field, text_field
from bounceback.signals.models import Signal
from bounceback.sites.services import site_code_normalise, sites_ensure
from bounceback.transactions.models import Transaction

FIELDS = (
    "source",
    "external_id",
    "kind",
    "event",
    "occurred_at",
    "customer_id",
    "customer_email",
    "customer_source",
    "customer_external_id",
    "transaction_id",
    "transaction_source",
    "transaction_external_id",
    "site",
    "product",
    "channel",
    "category",
    "author",
    "csat",
    "nps",
    "rating",
    "text",
    "attributes",
)
_FIELD_SET = frozenset(FIELDS)
_KINDS = tuple(Signal.Kind.values)
TEXT_MAX = 20_000

# Set by the negativity scorer's app when it is ready: scores texts in one
# batch (None for an empty text). Kept as a hook so signals do not import the
# model and tests of plain ingest stay fast.
Scorer = Callable[[Sequence[str]], list[float | None]]
_scorer: list[Scorer] = []


def signals_scorer_register(scorer: Scorer) -> None:
    """Let the negativity model score every recorded signal's text."""
    _scorer.clear()
    _scorer.append(scorer)


@dataclass
class SignalInput:
    """One signal after parsing: types checked, references not yet resolved."""

    source: str
    external_id: str
    kind: str
    event: str
    occurred_at: datetime
    customer_id: int | None
    customer_email: str | None
    customer_source: str | None
    customer_external_id: str | None
    transaction_id: int | None
    transaction_source: str | None
    transaction_external_id: str | None
    site_code: str | None
    product: str
    channel: str
    category: str
    author: str
    csat: int | None
    nps: int | None
    rating: Decimal | None
    text: str
    attributes: dict[str, Any]

    @property
    def customer(self) -> CustomerRef:
        return CustomerRef(
            customer_id=self.customer_id,
            email=self.customer_email,
            source=self.customer_source,
            external_id=self.customer_external_id,
        )


class SignalsResult(IngestResult):
    @property
    def created_ids(self) -> list[int]:
        return self.ids("created")


def _int(value: Any, *, field: str, low: int, high: int) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationFailed(f"{field} must be a whole number", field=field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed(
            f"{field} must be a whole number, not {value!r}", field=field
        ) from None
    if number != number.to_integral_value():
        raise ValidationFailed(f"{field} must be a whole number, not {value!r}", field=field)
    if not low <= number <= high:
        raise ValidationFailed(f"{field} must be between {low} and {high}", field=field)
    return int(number)


def _rating(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()) or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed(f"rating must be a number, not {value!r}", field="rating") from None
    if not Decimal(0) <= number <= Decimal(5) or number != number.quantize(Decimal("0.1")):
        raise ValidationFailed("rating must be 0 to 5 stars, in tenths at most", field="rating")
    return number


def signal_parse(*, data: Mapping[str, Any], default_source: str = "api") -> SignalInput:
    """Check one signal: known fields only, each parsed, the field named when wrong."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("each signal must be a JSON object")
    unknown = sorted(data.keys() - _FIELD_SET)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}", field=unknown[0])
    external_id = item_text(data, "external_id", 200)
    if not external_id:
        raise ValidationFailed(
            "external_id is required: with source it makes re-sending a signal harmless",
            field="external_id",
        )
    occurred_at = datetime_field(data.get("occurred_at"), field="occurred_at")
    assert occurred_at is not None
    customer_source = item_text(data, "customer_source", 60) or None
    customer_external_id = item_text(data, "customer_external_id", 200) or None
    if customer_external_id and not customer_source:
        raise ValidationFailed(
            "customer_source is required with customer_external_id", field="customer_source"
        )
    transaction_source = item_text(data, "transaction_source", 60) or None
    transaction_external_id = item_text(data, "transaction_external_id", 200) or None
    if transaction_external_id and not transaction_source:
        raise ValidationFailed(
            "transaction_source is required with transaction_external_id",
            field="transaction_source",
        )
    site = item_text(data, "site", 60)
    return SignalInput(
        source=item_text(data, "source", 60) or default_source,
        external_id=external_id,
        kind=choice_field(data.get("kind"), field="kind", choices=_KINDS, default="other"),
        event=item_text(data, "event", 60).lower(),
        occurred_at=occurred_at,
        customer_id=_int(data.get("customer_id"), field="customer_id", low=1, high=2**62),
        customer_email=item_text(data, "customer_email", 254).lower() or None,
        customer_source=customer_source,
        customer_external_id=customer_external_id,
        transaction_id=_int(data.get("transaction_id"), field="transaction_id", low=1, high=2**62),
        transaction_source=transaction_source,
        transaction_external_id=transaction_external_id,
        site_code=site_code_normalise(code=site) if site else None,
        product=item_text(data, "product", 200),
        channel=item_text(data, "channel", 40).lower(),
        category=item_text(data, "category", 120),
        author=item_text(data, "author", 200),
        csat=_int(data.get("csat"), field="csat", low=1, high=5),
        nps=_int(data.get("nps"), field="nps", low=0, high=10),
        rating=_rating(data.get("rating")),
        text=text_field(data.get("text"), field="text", max_length=TEXT_MAX, loose=True),
        attributes=object_field(data.get("attributes"), field="attributes"),
    )


def _transactions(items: Sequence[SignalInput]) -> list[tuple[int, int] | bool | None]:
    """Each item's (transaction id, its customer id); None when none is named, False unknown."""
    ids = {i.transaction_id for i in items if i.transaction_id}
    externals: dict[str, set[str]] = {}
    for i in items:
        if i.transaction_external_id and i.transaction_source:
            externals.setdefault(i.transaction_source, set()).add(i.transaction_external_id)
    by_id: dict[int, int] = {}
    if ids:
        by_id = dict(Transaction.objects.filter(pk__in=ids).values_list("pk", "customer_id"))
    by_ext: dict[tuple[str, str], tuple[int, int]] = {}
    for source, values in externals.items():
        by_ext.update(
            ((source, e or ""), (pk, c))
            for e, pk, c in Transaction.objects.filter(
                source=source, external_id__in=values
            ).values_list("external_id", "pk", "customer_id")
        )
    out: list[tuple[int, int] | bool | None] = []
    for i in items:
        if i.transaction_id:
            cid = by_id.get(i.transaction_id)
            out.append((i.transaction_id, cid) if cid is not None else False)
        elif i.transaction_external_id and i.transaction_source:
            out.append(by_ext.get((i.transaction_source, i.transaction_external_id), False))
        else:
            out.append(None)
    return out


def _existing(items: Sequence[SignalInput]) -> dict[tuple[str, str], int]:
    by_source: dict[str, set[str]] = {}
    for i in items:
        by_source.setdefault(i.source, set()).add(i.external_id)
    found: dict[tuple[str, str], int] = {}
    for source, values in by_source.items():
        ordered = sorted(values)
        for start in range(0, len(ordered), 2000):
            found.update(
                ((source, e), pk)
                for e, pk in Signal.objects.filter(
                    source=source, external_id__in=ordered[start : start + 2000]
                ).values_list("external_id", "pk")
            )
    return found


# Long on purpose: parse, resolve references and refuse per item, then one write;
# the three steps share the per-index bookkeeping the answer reports.
def signals_record_many(
    *, items: Sequence[Mapping[str, Any]], default_source: str = "api"
) -> SignalsResult:
    """Record every valid signal; report each invalid one with its index and reason.

    Idempotent by (source, external_id): a signal already stored answers
    "unchanged" and is not touched. Unknown customers or transactions named by
    an item refuse that item only. Valid items are written in one transaction.
    """
    result = SignalsResult()
    parsed = items_parse(
        items,
        parse=lambda data: signal_parse(data=data, default_source=default_source),
        errors=result.errors,
    )
    inputs = [item for _, item in parsed]
    customers = customer_ids_by_ref([item.customer for item in inputs])
    transactions = _transactions(inputs)
    valid: list[tuple[int, SignalInput, int | None, int | None]] = []
    for pos, (index, item) in enumerate(parsed):
        customer = customers[pos]
        txn = transactions[pos]
        if customer is None and item.customer.given:
            where = (
                "customer_id"
                if item.customer_id
                else "customer_email"
                if item.customer_email
                else "customer_external_id"
            )
            result.errors.append(
                ItemError(index, "unknown_customer", "no such customer is stored", where)
            )
            continue
        if txn is False:
            where = "transaction_id" if item.transaction_id else "transaction_external_id"
            result.errors.append(
                ItemError(index, "unknown_transaction", "no such transaction is stored", where)
            )
            continue
        txn_id: int | None = None
        customer_id = customer
        if isinstance(txn, tuple):
            txn_id, owner = txn
            if customer_id is not None and owner != customer_id:
                result.errors.append(
                    ItemError(
                        index,
                        "customer_mismatch",
                        "the transaction belongs to another customer",
                        "transaction_id" if item.transaction_id else "transaction_external_id",
                    )
                )
                continue
            # A late order names its customer through the order.
            customer_id = owner
        valid.append((index, item, customer_id, txn_id))
    if valid:
        # A retry finds what another sender stored first, and answers "unchanged".
        result.stored = store_retrying(lambda: _store(valid))
    result.errors.sort(key=lambda e: e.index)
    return result


def _store(
    valid: Sequence[tuple[int, SignalInput, int | None, int | None]],
) -> dict[int, StoredItem]:
    outcomes: dict[int, StoredItem] = {}
    with db_transaction.atomic():
        existing = _existing([item for _, item, _, _ in valid])
        fresh = []
        for index, item, customer_id, txn_id in valid:
            stored = existing.get((item.source, item.external_id))
            if stored is not None:
                outcomes[index] = StoredItem(stored, "unchanged")
            else:
                fresh.append((index, item, customer_id, txn_id))
        if not fresh:
            return outcomes
        sites = sites_ensure(codes={i.site_code for _, i, _, _ in fresh if i.site_code})
        scores: list[float | None] = (
            _scorer[0]([i.text for _, i, _, _ in fresh]) if _scorer else [None] * len(fresh)
        )
        ids = allocate_ids(Signal, len(fresh))
        rows = [item for _, item, _, _ in fresh]
        bulk_insert(
            Signal,
            varying={
                "id": ids,
                "source": [i.source for i in rows],
                "external_id": [i.external_id for i in rows],
                "kind": [i.kind for i in rows],
                "event": [i.event for i in rows],
                "occurred_at": [i.occurred_at for i in rows],
                "customer_id": [c for _, _, c, _ in fresh],
                "transaction_id": [t for _, _, _, t in fresh],
                "site_id": [sites[i.site_code].pk if i.site_code else None for i in rows],
                "product": [i.product for i in rows],
                "channel": [i.channel for i in rows],
                "category": [i.category for i in rows],
                "author": [i.author for i in rows],
                "csat": [i.csat for i in rows],
                "nps": [i.nps for i in rows],
                "rating": [i.rating for i in rows],
                "text": [i.text for i in rows],
                "negativity": scores,
                "attributes": [i.attributes for i in rows],
            },
            now=timezone.now(),
        )
        for (index, _, _, _), new_id in zip(fresh, ids, strict=True):
            outcomes[index] = StoredItem(new_id, "created")
        for hook in _recorded_hooks:
            hook(ids)
    return outcomes


# Called inside the writing transaction with the ids of new signals (discovery's
# rules run on them). Registered from the consuming app's apps.py.
_recorded_hooks: list[Callable[[list[int]], None]] = []


def signals_recorded_register(hook: Callable[[list[int]], None]) -> None:
    """Run `hook(ids)` inside the transaction that recorded new signals."""
    if hook not in _recorded_hooks:
        _recorded_hooks.append(hook)


def signal_record(*, data: Mapping[str, Any], default_source: str = "api") -> tuple[Signal, bool]:
    """Record one signal; returns it and whether it was created (False: already stored)."""
    result = signals_record_many(items=[data], default_source=default_source)
    item_error_raise(result.errors, not_found={"unknown_customer", "unknown_transaction"})
    row_id, outcome = result.stored[0]
    return Signal.objects.get(pk=row_id), outcome == "created"
