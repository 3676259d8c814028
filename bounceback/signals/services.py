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
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models.functions import Lower
from django.utils import timezone

from bounceback.bulk import allocate_ids, bulk_insert
from bounceback.customers.models import Customer, CustomerEmail, CustomerExternalId
from bounceback.errors import NotFound, ServiceError, ValidationFailed
from bounceback.inputs import choice_field, datetime_field, object_field, text_field
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
    def names_customer(self) -> bool:
        return bool(self.customer_id or self.customer_email or self.customer_external_id)


@dataclass
class SignalItemError:
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


@dataclass
class SignalsResult:
    # For each stored input index: the row's id and "created" or "unchanged".
    stored: dict[int, tuple[int, str]] = field(default_factory=dict)
    errors: list[SignalItemError] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for _, o in self.stored.values() if o == outcome)

    @property
    def created_ids(self) -> list[int]:
        return [i for i, o in self.stored.values() if o == "created"]


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


def _opt(data: Mapping[str, Any], name: str, max_length: int) -> str:
    return text_field(data.get(name), field=name, max_length=max_length, loose=True)


def signal_parse(*, data: Mapping[str, Any], default_source: str = "api") -> SignalInput:
    """Check one signal: known fields only, each parsed, the field named when wrong."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("each signal must be a JSON object")
    unknown = sorted(data.keys() - _FIELD_SET)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}", field=unknown[0])
    external_id = _opt(data, "external_id", 200)
    if not external_id:
        raise ValidationFailed(
            "external_id is required: with source it makes re-sending a signal harmless",
            field="external_id",
        )
    occurred_at = datetime_field(data.get("occurred_at"), field="occurred_at")
    assert occurred_at is not None
    customer_source = _opt(data, "customer_source", 60) or None
    customer_external_id = _opt(data, "customer_external_id", 200) or None
    if customer_external_id and not customer_source:
        raise ValidationFailed(
            "customer_source is required with customer_external_id", field="customer_source"
        )
    transaction_source = _opt(data, "transaction_source", 60) or None
    transaction_external_id = _opt(data, "transaction_external_id", 200) or None
    if transaction_external_id and not transaction_source:
        raise ValidationFailed(
            "transaction_source is required with transaction_external_id",
            field="transaction_source",
        )
    site = _opt(data, "site", 60)
    return SignalInput(
        source=_opt(data, "source", 60) or default_source,
        external_id=external_id,
        kind=choice_field(data.get("kind"), field="kind", choices=_KINDS, default="other"),
        event=_opt(data, "event", 60).lower(),
        occurred_at=occurred_at,
        customer_id=_int(data.get("customer_id"), field="customer_id", low=1, high=2**62),
        customer_email=_opt(data, "customer_email", 254).lower() or None,
        customer_source=customer_source,
        customer_external_id=customer_external_id,
        transaction_id=_int(data.get("transaction_id"), field="transaction_id", low=1, high=2**62),
        transaction_source=transaction_source,
        transaction_external_id=transaction_external_id,
        site_code=site_code_normalise(code=site) if site else None,
        product=_opt(data, "product", 200),
        channel=_opt(data, "channel", 40).lower(),
        category=_opt(data, "category", 120),
        author=_opt(data, "author", 200),
        csat=_int(data.get("csat"), field="csat", low=1, high=5),
        nps=_int(data.get("nps"), field="nps", low=0, high=10),
        rating=_rating(data.get("rating")),
        text=text_field(data.get("text"), field="text", max_length=TEXT_MAX, loose=True),
        attributes=object_field(data.get("attributes"), field="attributes"),
    )


def _customers(items: Sequence[SignalInput]) -> list[int | bool | None]:
    """Each item's customer id; None when it names none, False when it names an unknown one."""
    ids = {i.customer_id for i in items if i.customer_id}
    emails = {i.customer_email for i in items if i.customer_email}
    externals: dict[str, set[str]] = {}
    for i in items:
        if i.customer_external_id and i.customer_source:
            externals.setdefault(i.customer_source, set()).add(i.customer_external_id)
    known = set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    by_email: dict[str, int] = {}
    if emails:
        by_email = dict(
            CustomerEmail.objects.annotate(lower=Lower("address"))
            .filter(lower__in=emails)
            .values_list("lower", "customer_id")
        )
    by_ext: dict[tuple[str, str], int] = {}
    for source, values in externals.items():
        by_ext.update(
            ((source, e), c)
            for e, c in CustomerExternalId.objects.filter(
                source=source, external_id__in=values
            ).values_list("external_id", "customer_id")
        )
    out: list[int | bool | None] = []
    for i in items:
        if i.customer_id:
            out.append(i.customer_id if i.customer_id in known else False)
        elif i.customer_email:
            out.append(by_email.get(i.customer_email, False))
        elif i.customer_external_id and i.customer_source:
            out.append(by_ext.get((i.customer_source, i.customer_external_id), False))
        else:
            out.append(None)
    return out


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
    parsed: list[tuple[int, SignalInput]] = []
    seen: dict[tuple[str, str], int] = {}
    for index, data in enumerate(items):
        try:
            item = signal_parse(data=data, default_source=default_source)
        except ServiceError as exc:
            result.errors.append(SignalItemError(index, exc.code, exc.message, exc.field))
            continue
        key = (item.source, item.external_id)
        if key in seen:
            result.errors.append(
                SignalItemError(
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
    customers = _customers(inputs)
    transactions = _transactions(inputs)
    valid: list[tuple[int, SignalInput, int | None, int | None]] = []
    for pos, (index, item) in enumerate(parsed):
        customer = customers[pos]
        txn = transactions[pos]
        if customer is False:
            where = (
                "customer_id"
                if item.customer_id
                else "customer_email"
                if item.customer_email
                else "customer_external_id"
            )
            result.errors.append(
                SignalItemError(index, "unknown_customer", "no such customer is stored", where)
            )
            continue
        if txn is False:
            where = "transaction_id" if item.transaction_id else "transaction_external_id"
            result.errors.append(
                SignalItemError(
                    index, "unknown_transaction", "no such transaction is stored", where
                )
            )
            continue
        txn_id: int | None = None
        customer_id = customer if isinstance(customer, int) and customer is not True else None
        if isinstance(txn, tuple):
            txn_id, owner = txn
            if customer_id is not None and owner != customer_id:
                result.errors.append(
                    SignalItemError(
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
        for attempt in range(3):
            try:
                result.stored = _store(valid)
                break
            except IntegrityError:
                # Another sender stored one of these external ids between our
                # look-up and our insert; the retry finds it and skips it.
                if attempt == 2:
                    raise
    result.errors.sort(key=lambda e: e.index)
    return result


def _store(
    valid: Sequence[tuple[int, SignalInput, int | None, int | None]],
) -> dict[int, tuple[int, str]]:
    outcomes: dict[int, tuple[int, str]] = {}
    with db_transaction.atomic():
        existing = _existing([item for _, item, _, _ in valid])
        fresh = []
        for index, item, customer_id, txn_id in valid:
            stored = existing.get((item.source, item.external_id))
            if stored is not None:
                outcomes[index] = (stored, "unchanged")
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
            outcomes[index] = (new_id, "created")
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
    if result.errors:
        error = result.errors[0]
        if error.code in {"unknown_customer", "unknown_transaction"}:
            raise NotFound(error.message, field=error.field, code=error.code)
        raise ValidationFailed(error.message, field=error.field, code=error.code)
    row_id, outcome = result.stored[0]
    return Signal.objects.get(pk=row_id), outcome == "created"
