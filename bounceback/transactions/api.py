from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import bulk_answer, bulk_items_check
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, PatchSchema, Schema
from bounceback.transactions.models import Transaction
from bounceback.transactions.services import (
    transaction_update,
    transaction_upsert,
    transactions_upsert,
)

router = Router(tags=["transactions"])


class TransactionIn(Schema):
    """Name the customer: customer_id, customer_email, or customer_source
    with customer_external_id.
    """

    customer_id: int | None = None
    customer_email: str | None = None
    customer_source: str | None = None
    customer_external_id: str | None = None
    kind: str = Field(..., examples=["booking"])
    source: str = Field("api", examples=["bookings"])
    external_id: str | None = Field(
        None, description="Unique per source: sending it again updates the same transaction"
    )
    amount: Decimal = Field(..., examples=["49.50"])
    currency: str = Field(..., examples=["USD"])
    occurred_at: datetime
    scheduled_for: datetime | None = None
    site: str | None = Field(None, description="Site code; unknown codes create the site")
    product: str = ""
    status: str = "completed"
    attributes: dict[str, Any] = Field(default_factory=dict)


class TransactionPatch(PatchSchema):
    nullable = frozenset({"scheduled_for", "site"})

    kind: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    occurred_at: datetime | None = None
    scheduled_for: datetime | None = None
    site: str | None = None
    product: str | None = None
    status: str | None = None
    attributes: dict[str, Any] | None = None


class TransactionOut(Schema):
    id: int
    customer_id: int
    kind: str
    source: str
    external_id: str | None
    amount: Decimal
    currency: str
    occurred_at: datetime
    scheduled_for: datetime | None
    site: str | None
    product: str
    status: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_site(obj: Transaction) -> str | None:
        return obj.site.code if obj.site_id and obj.site else None


class TransactionPage(Schema):
    items: list[TransactionOut]
    next_cursor: str | None


class TransactionFilters(Schema):
    customer_id: int | None = None
    site: str | None = None
    kind: str | None = None
    status: str | None = None
    source: str | None = None
    external_id: str | None = None
    product: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    scheduled_after: datetime | None = None
    scheduled_before: datetime | None = None
    cursor: str | None = None
    limit: int = 50


class BulkIn(Schema):
    # Items are checked one by one by the service, so one bad item is reported
    # without refusing the rest; the schema only documents their shape.
    items: list[Any] = Field(
        ...,
        description="Up to 10,000 transactions, each a JSON object shaped like TransactionIn "
        "(the body of POST /api/transactions/)",
    )


class BulkItemError(Schema):
    index: int
    code: str
    message: str
    field: str | None


class BulkStored(Schema):
    index: int
    id: int
    result: str


class BulkOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: int
    stored: list[BulkStored]
    errors: list[BulkItemError]


def _load(transaction_id: int) -> Transaction:
    return get_object_or_404(Transaction.objects.select_related("site"), pk=transaction_id)


@router.post(
    "/",
    response={200: TransactionOut, 201: TransactionOut, **ERRORS},
    summary="Create a transaction, or update the one with the same source and external_id",
)
def create_transaction(request: HttpRequest, payload: TransactionIn) -> Status[Transaction]:
    require_scope(request, "transactions:write")
    data = payload.dict(exclude_none=True)
    row, created = transaction_upsert(data=data)
    return Status(201 if created else 200, _load(row.pk))


@router.post(
    "/bulk",
    response={200: BulkOut, **ERRORS},
    summary="Create or update up to 10,000 transactions; bad items reported, good ones stored",
)
def bulk_upsert(request: HttpRequest, payload: BulkIn) -> HttpResponse:
    require_scope(request, "transactions:write")
    bulk_items_check(payload.items)
    result = transactions_upsert(items=payload.items)
    return bulk_answer(result, outcomes=("created", "updated", "unchanged"))


@router.get(
    "/", response={200: TransactionPage, **ERRORS}, summary="List transactions, newest first"
)
def list_transactions(request: HttpRequest, filters: Query[TransactionFilters]) -> dict[str, Any]:
    require_scope(request, "transactions:read")
    queryset = Transaction.objects.select_related("site")
    exact = {
        "customer_id": filters.customer_id,
        "site__code": filters.site,
        "kind": filters.kind,
        "status": filters.status,
        "source": filters.source,
        "external_id": filters.external_id,
        "product": filters.product,
    }
    queryset = queryset.filter(**{k: v for k, v in exact.items() if v is not None})
    ranges = {
        "occurred_at__gte": filters.occurred_after,
        "occurred_at__lt": filters.occurred_before,
        "scheduled_for__gte": filters.scheduled_after,
        "scheduled_for__lt": filters.scheduled_before,
    }
    queryset = queryset.filter(**{k: v for k, v in ranges.items() if v is not None})
    return page_answer(queryset, filters, order_field="occurred_at", descending=True)


@router.get(
    "/{transaction_id}", response={200: TransactionOut, **ERRORS}, summary="Read a transaction"
)
def get_transaction(request: HttpRequest, transaction_id: int) -> Transaction:
    require_scope(request, "transactions:read")
    return _load(transaction_id)


@router.patch(
    "/{transaction_id}", response={200: TransactionOut, **ERRORS}, summary="Update a transaction"
)
def update_transaction(
    request: HttpRequest, transaction_id: int, payload: TransactionPatch
) -> Transaction:
    require_scope(request, "transactions:write")
    row = _load(transaction_id)
    transaction_update(transaction=row, changes=payload.dict(exclude_unset=True))
    return _load(transaction_id)
