"""The segments API: segments and their rules, members, recompute, a customer's approach."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act
from bounceback.api.pagination import cursor_page
from bounceback.api.schemas import ERRORS, PatchSchema, Schema
from bounceback.customers.models import Customer
from bounceback.segments import selectors, services
from bounceback.segments.models import Segment, SegmentMembership
from bounceback.segments.selectors import Approach

router = Router(tags=["segments"])


# --- Schemas -----------------------------------------------------------------------------


class RuleSchema(Schema):
    field: str = Field(
        ...,
        description="lifetime_value, transactions, cases_recent, satisfaction, tenure_days or tag",
    )
    op: str = Field(..., description=">=, <= or =; has for tag")
    value: Any = Field(
        ...,
        description="A number (amounts as strings), a tag, or for satisfaction '=' "
        "unhappy/happy (the last follow-up answer)",
    )
    months: int | None = Field(
        None, description="Window for transactions and cases_recent (cases default to 12)"
    )


class SegmentIn(Schema):
    name: str = Field(..., max_length=100)
    slug: str = Field("", description="Blank: made from the name. 'all' is reserved.")
    description: str = ""
    rules: list[dict[str, Any]] = Field(
        ..., description="Conditions ANDed: [{field, op, value, months?}]"
    )
    priority: int = Field(100, description="Lower comes first; the first leads")
    active: bool = True
    minimum_severity: str = Field("", description="Blank or low, normal, high, critical")
    timer_percent: int = Field(100, description="Recovery timers at this share, 10-100")
    senior_handling: str = Field("", description="Blank or a role: lead, manager, executive")
    guidance: str = ""
    compensation_tier: Decimal | None = Field(
        None, description="Per-case amount that lifts staff per-case limits for members"
    )
    compensation_currency: str = ""


class SegmentPatch(PatchSchema):
    nullable = frozenset({"compensation_tier"})

    name: str | None = None
    slug: str | None = None
    description: str | None = None
    rules: list[dict[str, Any]] | None = None
    priority: int | None = None
    active: bool | None = None
    minimum_severity: str | None = None
    timer_percent: int | None = None
    senior_handling: str | None = None
    guidance: str | None = None
    compensation_tier: Decimal | None = None
    compensation_currency: str | None = None


class SegmentOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    rules: list[RuleSchema]
    priority: int
    active: bool
    minimum_severity: str
    timer_percent: int
    senior_handling: str
    guidance: str
    compensation_tier: Decimal | None
    compensation_currency: str
    member_count: int
    recomputed_at: datetime | None
    updated_at: datetime


class SegmentFilters(Schema):
    cursor: str | None = None
    limit: int = 50


class MemberOut(Schema):
    customer_id: int
    customer_name: str
    since: datetime

    @staticmethod
    def resolve_customer_name(obj: SegmentMembership) -> str:
        return obj.customer.name


class MemberPage(Schema):
    items: list[MemberOut]
    next_cursor: str | None


class SegmentPage(Schema):
    items: list[SegmentOut]
    next_cursor: str | None


class RecomputeIn(Schema):
    segment_id: int | None = Field(None, description="One segment; omit for all")


class RecomputeOut(Schema):
    segments: int
    joined: int
    left: int


class SegmentPreviewIn(Schema):
    rules: list[dict[str, Any]]


class SegmentPreviewOut(Schema):
    matching: int


class SegmentBriefOut(Schema):
    id: int
    name: str
    slug: str
    guidance: str
    priority: int


class ApproachOut(Schema):
    customer_id: int
    segments: list[SegmentBriefOut] = Field(..., description="In priority order; the first leads")
    slugs: list[str]
    guidance: list[str]
    minimum_severity: str | None = Field(..., description="The highest floor of the segments")
    timer_percent: int = Field(..., description="The shortest timers of the segments")
    senior_handling: str | None = Field(..., description="The most senior role asked for")
    per_case_limit_lift: Decimal | None = Field(..., description="The highest compensation tier")
    currency: str


# --- Helpers ------------------------------------------------------------------------------


def _segment(segment_id: int) -> Segment:
    return get_object_or_404(selectors.segments_with_counts(), pk=segment_id)


def _approach_out(customer_id: int, approach: Approach) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "segments": approach.segments,
        "slugs": approach.slugs,
        "guidance": approach.guidance,
        "minimum_severity": approach.minimum_severity,
        "timer_percent": approach.timer_percent,
        "senior_handling": approach.senior_handling,
        "per_case_limit_lift": approach.per_case_limit_lift,
        "currency": approach.currency,
    }


# --- Endpoints ----------------------------------------------------------------------------


@router.get("/", response={200: SegmentPage, **ERRORS}, summary="List segments by priority")
def list_segments(request: HttpRequest, filters: Query[SegmentFilters]) -> dict[str, Any]:
    require_scope(request, "segments:read")
    items, next_cursor = cursor_page(
        selectors.segments_with_counts(),
        cursor=filters.cursor,
        limit=filters.limit,
        order_field="priority",
        descending=False,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/",
    response={201: SegmentOut, **ERRORS},
    summary="Create a segment (its members are computed at once)",
)
def create_segment(request: HttpRequest, payload: SegmentIn) -> Status[Segment]:
    actor = act(request, "segments:write")
    segment = services.segment_create(actor=actor, **payload.dict())
    return Status(201, _segment(segment.pk))


@router.post(
    "/preview",
    response={200: SegmentPreviewOut, **ERRORS},
    summary="How many customers some rules would match now (nothing is saved)",
)
def preview(request: HttpRequest, payload: SegmentPreviewIn) -> dict[str, int]:
    require_scope(request, "segments:read")
    return {"matching": selectors.segment_preview_count(payload.rules)}


@router.post(
    "/recompute",
    response={200: RecomputeOut, **ERRORS},
    summary="Recompute memberships now (one segment or all)",
)
def recompute(request: HttpRequest, payload: RecomputeIn) -> dict[str, int]:
    actor = act(request, "segments:write")
    segment = get_object_or_404(Segment, pk=payload.segment_id) if payload.segment_id else None
    return services.segment_recompute_now(actor=actor, segment=segment).as_dict()


@router.get(
    "/customers/{customer_id}/approach",
    response={200: ApproachOut, **ERRORS},
    summary="A customer's segments and the approach they add up to",
)
def customer_approach(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    require_scope(request, "segments:read")
    customer = get_object_or_404(Customer.objects.only("pk"), pk=customer_id)
    return _approach_out(customer.pk, selectors.customer_approach(customer))


@router.get("/{segment_id}", response={200: SegmentOut, **ERRORS}, summary="Read a segment")
def get_segment(request: HttpRequest, segment_id: int) -> Segment:
    require_scope(request, "segments:read")
    return _segment(segment_id)


@router.patch(
    "/{segment_id}",
    response={200: SegmentOut, **ERRORS},
    summary="Change a segment (members follow new rules at once)",
)
def update_segment(request: HttpRequest, segment_id: int, payload: SegmentPatch) -> Segment:
    actor = act(request, "segments:write")
    segment = get_object_or_404(Segment, pk=segment_id)
    changes = payload.dict(exclude_unset=True)
    services.segment_update(segment=segment, actor=actor, **changes)
    return _segment(segment_id)


@router.get(
    "/{segment_id}/members",
    response={200: MemberPage, **ERRORS},
    summary="A segment's members, newest first",
)
def members(
    request: HttpRequest, segment_id: int, filters: Query[SegmentFilters]
) -> dict[str, Any]:
    require_scope(request, "segments:read")
    segment = get_object_or_404(Segment, pk=segment_id)
    items, next_cursor = cursor_page(
        selectors.segment_members(segment),
        cursor=filters.cursor,
        limit=filters.limit,
        order_field="since",
        descending=True,
    )
    return {"items": items, "next_cursor": next_cursor}
