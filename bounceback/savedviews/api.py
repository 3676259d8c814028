"""The inbox API: a view's cases a page at a time, and one's own saved views.

A view is the inbox page's query string (`view`, `status`, `severity`, `site`,
`assignee`, `segment`, `breakdown`, `channel`, `failure_mode`, `sort`); pages
are keyset pages (`after`, the `next_after` of the previous page), and
`counts` holds every view's count under the same filters, at most
`count_cap + 1` (read "more than count_cap").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from bounceback.api.auth import request_actor, require_scope
from bounceback.api.endpoints import act
from bounceback.api.schemas import ERRORS, Schema
from bounceback.cases.inbox import (
    COUNT_CAP,
    PAGE_SIZE,
    InboxQuery,
    cases_inbox_page,
    default_sort,
)
from bounceback.errors import NotFound, ValidationFailed
from bounceback.savedviews.models import SavedView
from bounceback.savedviews.selectors import saved_views_of
from bounceback.savedviews.services import saved_view_create, saved_view_delete

router = Router(tags=["inbox"])


class InboxFilters(Schema):
    view: str = Field(
        "mine",
        description="mine, team, unassigned, breached, due_soon, waiting, "
        "segment (customers in a segment, VIP first) or all",
    )
    status: str = ""
    severity: str = ""
    site: str = Field("", description="A site's code")
    assignee: str = Field("", description="A user id, or 'none' for unassigned")
    segment: str = Field("", description="A segment's slug")
    breakdown: str = Field("", description="A breakdown's reference")
    channel: str = ""
    failure_mode: str = Field("", description="A failure mode's id")
    sort: str = Field(
        "",
        description="due (next due first), newest, oldest, updated or segment (the "
        "customer's leading segment, VIP first, then customers in none); empty for the "
        "view's own order (segment for the segment view, due otherwise)",
    )
    after: str | None = Field(None, description="The next_after of the previous page")
    limit: int = Field(PAGE_SIZE, description=f"1 to {PAGE_SIZE}")


class InboxCaseOut(Schema):
    id: int
    reference: str | None
    summary: str
    status: str
    severity: str
    channel: str
    customer_id: int
    customer_name: str
    assignee_id: int | None
    team_id: int | None
    site_code: str | None
    breach_count: int
    next_due_at: datetime | None
    created_at: datetime
    segment: str | None = Field(
        ..., description="The slug of the customer's leading segment, if they are in one"
    )


class InboxPageOut(Schema):
    items: list[InboxCaseOut]
    next_after: str | None
    counts: dict[str, int]
    count_cap: int


class SavedViewIn(Schema):
    name: str = Field(..., max_length=80)
    params: dict[str, str] = Field(
        default_factory=dict, description="The view's query-string values (see the inbox)"
    )


class SavedViewOut(Schema):
    id: int
    name: str
    params: dict[str, str]
    url: str = Field(..., description="The inbox page showing this view")
    created_at: datetime


class SavedViewList(Schema):
    items: list[SavedViewOut]


@router.get(
    "/cases",
    response={200: InboxPageOut, **ERRORS},
    summary="One page of an inbox view, soonest due first by default",
)
def inbox_cases(request: HttpRequest, filters: Query[InboxFilters]) -> dict[str, Any]:
    require_scope(request, "cases:read")
    if not 1 <= filters.limit <= PAGE_SIZE:
        raise ValidationFailed(f"limit must be between 1 and {PAGE_SIZE}", field="limit")
    values = filters.dict(exclude={"after", "limit"})
    values["sort"] = values["sort"] or default_sort(values["view"])
    query = InboxQuery(**{k: str(v).strip() for k, v in values.items()})
    for name, reason in query.problems().items():
        raise ValidationFailed(reason, field=name)
    user = request_actor(request).user
    page = cases_inbox_page(user=user, query=query, after=filters.after, limit=filters.limit)
    return {
        "items": [
            {
                "id": c.pk,
                "reference": c.reference,
                "summary": c.summary,
                "status": c.status,
                "severity": c.severity,
                "channel": c.channel,
                "customer_id": c.customer_id,
                "customer_name": c.customer.name,
                "assignee_id": c.assignee_id,
                "team_id": c.team_id,
                "site_code": c.site.code if c.site else None,
                "breach_count": c.breach_count,
                "next_due_at": c.next_due_at,
                "created_at": c.created_at,
                "segment": segment.slug if (segment := page.segments.get(c.customer_id)) else None,
            }
            for c in page.cases
        ],
        "next_after": page.next_after,
        "counts": page.counts,
        "count_cap": COUNT_CAP,
    }


@router.get("/views", response={200: SavedViewList, **ERRORS}, summary="Your saved views")
def list_views(request: HttpRequest) -> dict[str, Any]:
    require_scope(request, "cases:read")
    return {"items": list(saved_views_of(request_actor(request).user))}


@router.post("/views", response={201: SavedViewOut, **ERRORS}, summary="Save an inbox view")
def create_view(request: HttpRequest, payload: SavedViewIn) -> Status[SavedView]:
    actor = act(request, "cases:read")
    view = saved_view_create(name=payload.name, params=payload.params, actor=actor)
    return Status(201, SavedView.objects.get(pk=view.pk))


@router.delete(
    "/views/{view_id}", response={204: None, **ERRORS}, summary="Delete one of your views"
)
def delete_view(request: HttpRequest, view_id: int) -> Status[None]:
    actor = act(request, "cases:read")
    view = saved_views_of(actor.user).filter(pk=view_id).first()
    if view is None:
        raise NotFound(f"you have no view with id {view_id}", field="view_id")
    saved_view_delete(view=view, actor=actor)
    return Status(204, None)
