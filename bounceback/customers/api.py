from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, PatchSchema, Schema
from bounceback.customers.models import Customer
from bounceback.customers.selectors import (
    TimelineCursor,
    TimelineEntry,
    customer_timeline_page,
    customer_value_by_currency,
)
from bounceback.customers.services import ExternalIdentity, customer_create, customer_update
from bounceback.interactions.models import Interaction
from bounceback.signals.models import Signal
from bounceback.signals.selectors import signal_score, signal_summary

router = Router(tags=["customers"])


class ExternalIdSchema(Schema):
    source: str = Field(..., max_length=60, examples=["bookings"])
    external_id: str = Field(..., max_length=200, examples=["C-1042"])


class CustomerIn(Schema):
    name: str = Field(..., max_length=200, examples=["Ada Lovelace"])
    emails: list[str] = Field(default_factory=list, examples=[["ada@example.com"]])
    phones: list[str] = Field(default_factory=list, examples=[["+44 20 7946 0958"]])
    external_ids: list[ExternalIdSchema] = Field(default_factory=list)
    preferred_channel: str = "email"
    locale: str = "en"
    time_zone: str = "UTC"
    notes: str = ""
    tags: list[str] = Field(default_factory=list)


class CustomerPatch(PatchSchema):
    name: str | None = Field(None, max_length=200)
    emails: list[str] | None = None
    phones: list[str] | None = None
    external_ids: list[ExternalIdSchema] | None = None
    preferred_channel: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    notes: str | None = None
    tags: list[str] | None = None


class CustomerOut(Schema):
    id: int
    name: str
    emails: list[str]
    phones: list[str]
    external_ids: list[ExternalIdSchema]
    preferred_channel: str
    locale: str
    time_zone: str
    notes: str
    tags: list[str]
    lifetime_value: Decimal
    lifetime_value_currency: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_emails(obj: Customer) -> list[str]:
        return [e.address for e in obj.emails.all()]

    @staticmethod
    def resolve_phones(obj: Customer) -> list[str]:
        return [p.number for p in obj.phones.all()]

    @staticmethod
    def resolve_external_ids(obj: Customer) -> list[dict[str, str]]:
        return [{"source": e.source, "external_id": e.external_id} for e in obj.external_ids.all()]


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerFilters(Schema):
    q: str | None = Field(None, description="Name, email, phone or external id contains this")
    email: str | None = Field(None, description="Exact email address (any case)")
    source: str | None = Field(None, description="External id source, with external_id")
    external_id: str | None = None
    preferred_channel: str | None = None
    tag: str | None = None
    min_lifetime_value: Decimal | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    order: Literal["name", "-created_at", "-lifetime_value"] = "name"
    cursor: str | None = None
    limit: int = 50


class ValueOut(Schema):
    currency: str
    total: Decimal
    count: int


class TimelineEntryOut(Schema):
    kind: Literal["interaction", "transaction", "signal"]
    id: int
    at: datetime
    summary: str
    channel: str | None = None
    direction: str | None = None
    author: str | None = None
    body: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    status: str | None = None
    site: str | None = None
    source: str | None = Field(None, description="For a signal: the system that sent it")
    score: str | None = Field(None, description="For a signal: CSAT, NPS or rating as sent")
    negativity: float | None = None


class TimelineOut(Schema):
    items: list[TimelineEntryOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page")
    lifetime_value: list[ValueOut]


def _external(items: list[ExternalIdSchema] | None) -> list[ExternalIdentity] | None:
    if items is None:
        return None
    return [ExternalIdentity(source=i.source, external_id=i.external_id) for i in items]


def _load(customer_id: int) -> Customer:
    return get_object_or_404(Customer.objects.with_identities(), pk=customer_id)


@router.post("/", response={201: CustomerOut, **ERRORS}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn) -> Status[Customer]:
    require_scope(request, "customers:write")
    customer = customer_create(
        name=payload.name,
        emails=payload.emails,
        phones=payload.phones,
        external_ids=_external(payload.external_ids) or [],
        preferred_channel=payload.preferred_channel,
        locale=payload.locale,
        time_zone=payload.time_zone,
        notes=payload.notes,
        tags=payload.tags,
    )
    return Status(201, _load(customer.pk))


@router.get("/", response={200: CustomerPage, **ERRORS}, summary="List customers")
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]) -> dict:
    require_scope(request, "customers:read")
    queryset = Customer.objects.with_identities()
    if filters.q:
        queryset = queryset.search(filters.q)
    if filters.email:
        queryset = queryset.filter(emails__address__iexact=filters.email.strip())
    if filters.external_id:
        queryset = queryset.filter(external_ids__external_id=filters.external_id)
        if filters.source:
            queryset = queryset.filter(external_ids__source=filters.source)
    if filters.preferred_channel:
        queryset = queryset.filter(preferred_channel=filters.preferred_channel)
    if filters.tag:
        queryset = (
            queryset.filter(tags__contains=[filters.tag])
            if _json_contains()
            else (queryset.filter(tags__icontains=f'"{filters.tag}"'))
        )
    if filters.min_lifetime_value is not None:
        queryset = queryset.filter(lifetime_value__gte=filters.min_lifetime_value)
    if filters.created_after:
        queryset = queryset.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        queryset = queryset.filter(created_at__lt=filters.created_before)
    field = filters.order.lstrip("-")
    return page_answer(
        queryset, filters, order_field=field, descending=filters.order.startswith("-")
    )


def _json_contains() -> bool:
    # SQLite has no JSON containment lookup; fall back to matching the quoted tag.
    from django.db import connection

    return connection.vendor == "postgresql"


@router.get("/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="Read a customer")
def get_customer(request: HttpRequest, customer_id: int) -> Customer:
    require_scope(request, "customers:read")
    return _load(customer_id)


@router.patch("/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="Update a customer")
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Customer:
    require_scope(request, "customers:write")
    customer = _load(customer_id)
    changes = payload.dict(exclude_unset=True)
    emails = changes.pop("emails", None)
    phones = changes.pop("phones", None)
    external = changes.pop("external_ids", None)
    customer_update(
        customer=customer,
        emails=emails,
        phones=phones,
        external_ids=_external(payload.external_ids) if external is not None else None,
        **changes,
    )
    return _load(customer_id)


@router.get(
    "/{customer_id}/timeline",
    response={200: TimelineOut, **ERRORS},
    summary="A customer's interactions and transactions, newest first",
)
def get_timeline(
    request: HttpRequest, customer_id: int, cursor: str | None = None, limit: int = 50
) -> dict:
    require_scope(request, "customers:read")
    from bounceback.api.pagination import check_limit
    from bounceback.errors import ValidationFailed

    check_limit(limit)
    customer = get_object_or_404(Customer, pk=customer_id)
    after = _decode_cursor(cursor) if cursor else None
    if cursor and after is None:
        raise ValidationFailed("cursor is not one this API handed out", field="cursor")
    entries, next_cursor = customer_timeline_page(customer=customer, after=after, limit=limit)
    return {
        "items": [_timeline_item(entry) for entry in entries],
        "next_cursor": _encode_cursor(next_cursor) if next_cursor else None,
        "lifetime_value": customer_value_by_currency(customer=customer),
    }


def _encode_cursor(cursor: TimelineCursor) -> str:
    # Opaque and URL-safe: the raw form holds "+00:00", which a query string mangles.
    return base64.urlsafe_b64encode(cursor.encode().encode()).decode().rstrip("=")


def _decode_cursor(text: str) -> TimelineCursor | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return TimelineCursor.decode(raw)


def _timeline_item(entry: TimelineEntry) -> dict[str, Any]:
    if isinstance(entry.item, Interaction):
        i = entry.item
        return {
            "kind": "interaction",
            "id": entry.id,
            "at": entry.at,
            "summary": i.subject or i.body[:120],
            "channel": i.channel,
            "direction": i.direction,
            "author": i.author_name,
            "body": i.body,
        }
    if isinstance(entry.item, Signal):
        sig = entry.item
        return {
            "kind": "signal",
            "id": entry.id,
            "at": entry.at,
            "summary": signal_summary(sig),
            "channel": sig.channel or None,
            "author": sig.author or None,
            "body": sig.text or None,
            "site": sig.site.code if sig.site else None,
            "source": sig.source,
            "score": signal_score(sig),
            "negativity": sig.negativity,
        }
    t = entry.item
    return {
        "kind": "transaction",
        "id": entry.id,
        "at": entry.at,
        "summary": f"{t.get_kind_display()} {t.product}".strip(),
        "amount": t.amount,
        "currency": t.currency,
        "status": t.status,
        "site": t.site.code if t.site else None,
    }
