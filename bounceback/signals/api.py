from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act, bulk_answer, bulk_items_check, by_id
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, Schema
from bounceback.signals.models import Signal
from bounceback.signals.services import signal_record, signals_record_many

router = Router(tags=["signals"])


class SignalIn(Schema):
    """Something another system tells us about a customer's experience. Name the
    customer (customer_id, customer_email, or customer_source with
    customer_external_id) and the transaction (transaction_id, or
    transaction_source with transaction_external_id) where known."""

    source: str = Field("api", examples=["surveys"])
    external_id: str = Field(
        ..., description="Unique per source: sending it again stores nothing new"
    )
    kind: str = Field("other", description="survey, review, mention, operational, message or other")
    event: str = Field("", examples=["order_late"], description="What happened, in your words")
    occurred_at: datetime
    customer_id: int | None = None
    customer_email: str | None = None
    customer_source: str | None = None
    customer_external_id: str | None = None
    transaction_id: int | None = None
    transaction_source: str | None = None
    transaction_external_id: str | None = None
    site: str | None = Field(None, description="Site code; unknown codes create the site")
    product: str = ""
    channel: str = Field("", examples=["google"], description="Where it was posted or came from")
    category: str = ""
    author: str = Field("", description="Who wrote it, when no customer is known")
    csat: int | None = Field(None, description="1 to 5")
    nps: int | None = Field(None, description="0 to 10")
    rating: Decimal | None = Field(None, description="Stars, 0 to 5")
    text: str = ""
    attributes: dict[str, Any] = Field(default_factory=dict)


class SignalOut(Schema):
    id: int
    source: str
    external_id: str
    kind: str
    event: str
    occurred_at: datetime
    customer_id: int | None
    transaction_id: int | None
    site: str | None
    product: str
    channel: str
    category: str
    author: str
    csat: int | None
    nps: int | None
    rating: Decimal | None
    text: str
    negativity: float | None = Field(None, description="0 (not negative) to 1 (very negative)")
    attributes: dict[str, Any]
    created_at: datetime

    @staticmethod
    def resolve_site(obj: Signal) -> str | None:
        return obj.site.code if obj.site_id and obj.site else None


class SignalPage(Schema):
    items: list[SignalOut]
    next_cursor: str | None


class SignalFilters(Schema):
    source: str | None = None
    external_id: str | None = None
    kind: Literal["survey", "review", "mention", "operational", "message", "other"] | None = None
    event: str | None = None
    customer_id: int | None = None
    site: str | None = None
    product: str | None = None
    channel: str | None = None
    category: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    min_negativity: float | None = None
    cursor: str | None = None
    limit: int = 50


class SignalBulkIn(Schema):
    # Items are checked one by one by the service so one bad item is reported
    # without refusing the rest; the schema documents their shape only.
    items: list[Any] = Field(
        ..., description="Up to 10,000 signals, each a JSON object shaped like SignalIn"
    )


class SignalBulkError(Schema):
    index: int
    code: str
    message: str
    field: str | None


class SignalBulkStored(Schema):
    index: int
    id: int
    result: str = Field(..., description="created, or unchanged when already stored")


class SignalBulkOut(Schema):
    created: int
    unchanged: int
    rejected: int
    stored: list[SignalBulkStored]
    errors: list[SignalBulkError]


def _load(signal_id: int) -> Signal:
    return by_id(Signal, signal_id, "signal_id", "signal")


@router.post(
    "/",
    response={200: SignalOut, 201: SignalOut, **ERRORS},
    summary="Record a signal (201), or answer the one already stored with its source and "
    "external_id (200)",
)
def create_signal(request: HttpRequest, payload: SignalIn) -> Status[Signal]:
    act(request, "signals:write")
    row, created = signal_record(data=payload.dict(exclude_none=True))
    return Status(201 if created else 200, _load(row.pk))


@router.post(
    "/bulk",
    response={200: SignalBulkOut, **ERRORS},
    summary="Record up to 10,000 signals; bad items reported, good ones stored",
)
def bulk_signals(request: HttpRequest, payload: SignalBulkIn) -> HttpResponse:
    act(request, "signals:write")
    bulk_items_check(payload.items)
    result = signals_record_many(items=payload.items)
    return bulk_answer(result, outcomes=("created", "unchanged"))


@router.get("/", response={200: SignalPage, **ERRORS}, summary="List signals, newest first")
def list_signals(request: HttpRequest, filters: Query[SignalFilters]) -> dict[str, Any]:
    require_scope(request, "signals:read")
    queryset = Signal.objects.select_related("site")
    exact = {
        "source": filters.source,
        "external_id": filters.external_id,
        "kind": filters.kind,
        "event": filters.event,
        "customer_id": filters.customer_id,
        "site__code": filters.site,
        "product": filters.product,
        "channel": filters.channel,
        "category": filters.category,
        "occurred_at__gte": filters.occurred_after,
        "occurred_at__lt": filters.occurred_before,
        "negativity__gte": filters.min_negativity,
    }
    queryset = queryset.filter(**{k: v for k, v in exact.items() if v is not None})
    return page_answer(queryset, filters, order_field="occurred_at", descending=True)


@router.get("/{signal_id}", response={200: SignalOut, **ERRORS}, summary="Read a signal")
def get_signal(request: HttpRequest, signal_id: int) -> Signal:
    require_scope(request, "signals:read")
    return _load(signal_id)
