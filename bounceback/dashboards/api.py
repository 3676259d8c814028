"""The dashboards API: each tile's figures, the cases behind a figure, first response times.

Tiles are what the acting person's role sees on their home page (a token acts
for its creator): an agent's, a lead's (and the agent's), a manager's or
executive's (and all below). Filters are the page's: a period of whole days
(`since`, `until`, inclusive), a site code, a team id, a segment slug.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router

from bounceback.api.auth import request_actor, require_scope
from bounceback.api.schemas import ERRORS, Schema
from bounceback.dashboards.filters import DashboardFilters, dashboard_filters
from bounceback.dashboards.selectors import (
    REPLY_BANDS,
    ROLE_TILES,
    TILES,
    Context,
    Tile,
    dashboard_tiles,
    first_response,
    kinds_allowed,
    tile_allowed,
    tile_cases,
    tile_compute,
)
from bounceback.dashboards.services import loyalty_figure_want
from bounceback.errors import Forbidden, NotFound
from bounceback.keyset import Order, keyset_page

router = Router(tags=["dashboards"])
PAGE_MOST = 200


class DashboardQuery(Schema):
    since: date | None = Field(None, description="First day (default: twelve weeks ago)")
    until: date | None = Field(None, description="Last day, inclusive (default: today)")
    site: str = Field("", max_length=60, description="A site code: its cases only")
    team: int | None = Field(None, ge=1, le=2**63 - 1, description="A team id: its cases only")
    segment: str = Field("", max_length=60, description="A segment slug: its customers only")


class DashboardCasesQuery(DashboardQuery):
    key: str = Field(
        "all", max_length=60, description="Which figure of the tile (a row's key); all by default"
    )
    after: str | None = Field(None, max_length=200, description="next_after of the last page")
    limit: int = Field(50, ge=1, le=PAGE_MOST)


class DashboardColumnOut(Schema):
    key: str
    heading: str
    unit: str = Field(..., description="count, share (0 to 1), seconds or money")


class DashboardRowOut(Schema):
    key: str = Field(..., description="Pass as `key` to the tile's cases endpoint")
    label: str
    values: dict[str, int | float | Decimal | None]
    cases_url: str = Field(..., description="The page listing the cases behind this row")
    cases_api: str = Field(..., description="The API listing the same cases")


class DashboardTileOut(Schema):
    name: str
    title: str
    headline: str
    note: str
    chart: str = Field(..., description="bars, columns, lines, pareto or empty")
    columns: list[DashboardColumnOut]
    rows: list[DashboardRowOut]


class DashboardOut(Schema):
    kind: str
    since: datetime
    until: datetime = Field(..., description="Exclusive: the day after the last day, 00:00")
    tiles: list[DashboardTileOut]


class DashboardCaseOut(Schema):
    id: int
    reference: str | None
    summary: str
    status: str
    severity: str
    customer_id: int
    assignee_id: int | None
    team_id: int | None
    site_id: int | None
    breach_count: int
    created_at: datetime
    closed_at: datetime | None


class DashboardCasesOut(Schema):
    items: list[DashboardCaseOut]
    next_after: str | None


class FirstResponseBandOut(Schema):
    band: str
    label: str
    conversations: int


class FirstResponsePeriodOut(Schema):
    start: datetime
    end: datetime
    answered: int
    answered_within_hour: int
    average_seconds: float | None


class FirstResponseOut(Schema):
    since: datetime
    until: datetime
    conversations: int = Field(..., description="Conversations whose customer first wrote then")
    answered: int
    waiting: int = Field(..., description="Conversations with no reply from staff yet")
    average_seconds: float | None
    bands: list[FirstResponseBandOut]
    periods: list[FirstResponsePeriodOut]


def _filters(query: DashboardQuery) -> DashboardFilters:
    return dashboard_filters(
        since=query.since,
        until=query.until,
        site=query.site,
        team=query.team,
        segment=query.segment,
    )


def _user(request: HttpRequest) -> Any:
    return request_actor(request).user


def _tile_out(tile: Tile, filters: DashboardFilters) -> dict[str, Any]:
    return {
        "name": tile.name,
        "title": tile.title,
        "headline": tile.headline,
        "note": tile.note,
        "chart": tile.chart,
        "columns": [{"key": k, "heading": h, "unit": u} for k, h, u in tile.columns],
        "rows": [
            {
                "key": r.key,
                "label": r.label,
                "values": {k: v for k, v in r.values.items() if not k.endswith("_href")},
                "cases_url": r.href,
                "cases_api": f"/api/dashboards/tiles/{tile.name}/cases?" + filters.query(key=r.key),
            }
            for r in tile.rows
        ],
    }


def _want_money(tiles: list[Tile], filters: DashboardFilters) -> None:
    if any(t.name == "money" and t.extra.get("kept") is None for t in tiles):
        loyalty_figure_want(filters=filters)


def _allowed(request: HttpRequest, name: str) -> Any:
    if name not in TILES:
        raise NotFound(f"no tile {name!r}; tiles: {', '.join(TILES)}")
    user = _user(request)
    if not tile_allowed(user, name):
        raise Forbidden("this tile is for a more senior role", code="missing_permission")
    return user


@router.get(
    "/first-response",
    response={200: FirstResponseOut, **ERRORS},
    summary="First response time: customer's first message to the first reply from staff",
)
def first_response_times(request: HttpRequest, query: Query[DashboardQuery]) -> dict[str, Any]:
    require_scope(request, "dashboards:read")
    filters = _filters(query)
    from django.utils import timezone

    fr = first_response(Context(filters=filters, user=_user(request), now=timezone.now()))
    return {
        "since": filters.since,
        "until": filters.until,
        "conversations": fr.conversations,
        "answered": fr.answered,
        "waiting": fr.conversations - fr.answered,
        "average_seconds": fr.average_seconds,
        "bands": [
            {"band": k, "label": label, "conversations": fr.bands[k]}
            for k, label, _u in REPLY_BANDS
        ],
        "periods": [
            {
                "start": b.start,
                "end": b.end,
                "answered": n,
                "answered_within_hour": h,
                "average_seconds": avg,
            }
            for b, n, h, avg in fr.per_bucket
        ],
    }


@router.get(
    "/tiles/{name}",
    response={200: DashboardTileOut, **ERRORS},
    summary="One dashboard tile's figures",
)
def tile(request: HttpRequest, name: str, query: Query[DashboardQuery]) -> dict[str, Any]:
    require_scope(request, "dashboards:read")
    user = _allowed(request, name)
    filters = _filters(query)
    computed = tile_compute(name=name, filters=filters, user=user)
    _want_money([computed], filters)
    return _tile_out(computed, filters)


@router.get(
    "/tiles/{name}/cases",
    response={200: DashboardCasesOut, **ERRORS},
    summary="The cases behind one figure of a tile, newest first (keyset pages)",
)
def tile_case_list(
    request: HttpRequest, name: str, query: Query[DashboardCasesQuery]
) -> dict[str, Any]:
    require_scope(request, "dashboards:read")
    user = _allowed(request, name)
    rows = tile_cases(name=name, key=query.key, filters=_filters(query), user=user)
    cases, next_after = keyset_page(
        rows,
        order=Order("created_at", descending=True),
        after=query.after,
        limit=query.limit,
        field="after",
    )
    return {
        "items": [
            {
                "id": c.pk,
                "reference": c.reference,
                "summary": c.summary,
                "status": c.status,
                "severity": c.severity,
                "customer_id": c.customer_id,
                "assignee_id": c.assignee_id,
                "team_id": c.team_id,
                "site_id": c.site_id,
                "breach_count": c.breach_count,
                "created_at": c.created_at,
                "closed_at": c.closed_at,
            }
            for c in cases
        ],
        "next_after": next_after,
    }


@router.get(
    "/{kind}",
    response={200: DashboardOut, **ERRORS},
    summary="Every tile of a role's dashboard: agent, lead or manager (executives see this one)",
)
def dashboard(request: HttpRequest, kind: str, query: Query[DashboardQuery]) -> dict[str, Any]:
    require_scope(request, "dashboards:read")
    if kind not in ROLE_TILES:
        raise NotFound(f"no dashboard {kind!r}; dashboards: {', '.join(ROLE_TILES)}")
    user = _user(request)
    if kind not in kinds_allowed(user):
        raise Forbidden("this dashboard is for a more senior role", code="missing_permission")
    filters = _filters(query)
    tiles = dashboard_tiles(kind=kind, filters=filters, user=user)
    _want_money(tiles, filters)
    return {
        "kind": kind,
        "since": filters.since,
        "until": filters.until,
        "tiles": [_tile_out(t, filters) for t in tiles],
    }
