"""Dashboard pages: each role's tiles on the home page, one tile's CSV, the cases behind a
figure. Thin: the figures come from selectors.py, the charts from charts.py."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bounceback.cases.models import Case
from bounceback.dashboards.charts import tile_chart
from bounceback.dashboards.filters import DashboardFilters, dashboard_filters
from bounceback.dashboards.forms import DashboardFilterForm
from bounceback.dashboards.selectors import (
    ROLE_TILES,
    TILES,
    dashboard_kind,
    dashboard_tiles,
    kinds_allowed,
    tile_allowed,
    tile_cases,
    tile_compute,
)
from bounceback.dashboards.services import loyalty_figure_want
from bounceback.errors import NotFound, ValidationFailed
from bounceback.keyset import Order, keyset_page
from bounceback.web.htmx import is_htmx, vary_on_htmx

DRILL_PAGE = 50


def _filters(request: HttpRequest) -> tuple[DashboardFilterForm, DashboardFilters, bool]:
    """The form and the filters it gives; bad values fall back to the defaults (and say so)."""
    wanted = {
        k: v for k, v in request.GET.items() if k in ("since", "until", "site", "team", "segment")
    }
    form = DashboardFilterForm(wanted or {})
    if form.is_valid():
        return form, form.filters(), True
    return form, dashboard_filters(), False


def dashboard_context(request: HttpRequest, kind: str | None = None) -> dict[str, Any]:
    """What the home page (or /dashboards/KIND/) shows: the role's tiles with their charts."""
    allowed = kinds_allowed(request.user)
    if not allowed:
        return {}
    kind = kind or dashboard_kind(getattr(request.user, "role", "agent"))
    if request.user.is_superuser:  # type: ignore[union-attr]
        kind = kind if kind in allowed else "manager"
    form, filters, valid = _filters(request)
    tiles = dashboard_tiles(kind=kind, filters=filters, user=request.user)  # type: ignore[arg-type]
    if any(t.name == "money" and t.extra.get("kept") is None for t in tiles):
        loyalty_figure_want(filters=filters)
    return {
        "dash_kind": kind,
        "dash_kinds": allowed,
        "dash_form": form,
        "dash_valid": valid,
        "dash_filters": filters,
        "dash_query": filters.query(),
        "dash_tiles": [(tile, tile_chart(tile)) for tile in tiles],
    }


@require_GET
@login_required
def dashboard_page(request: HttpRequest, kind: str) -> HttpResponse:
    """One role's dashboard (a manager may look at a lead's or an agent's); htmx asks for
    the tiles alone every minute."""
    if kind not in ROLE_TILES:
        raise Http404
    if kind not in kinds_allowed(request.user):
        raise PermissionDenied("This dashboard is for a more senior role.")
    context = dashboard_context(request, kind)
    template = "dashboards/_tiles.html" if is_htmx(request) else "dashboards/page.html"
    return vary_on_htmx(render(request, template, context))


def _tile_or_404(request: HttpRequest, name: str) -> None:
    if name not in TILES:
        raise Http404
    if not tile_allowed(request.user, name):
        raise PermissionDenied("This tile is for a more senior role.")


def _cell(value: Any) -> Any:
    return "" if value is None else value


@require_GET
@login_required
def tile_csv(request: HttpRequest, name: str) -> HttpResponse:
    """The tile's table as CSV: one line per bar or point, with the link to its cases."""
    _tile_or_404(request, name)
    _form, filters, _valid = _filters(request)
    tile = tile_compute(name=name, filters=filters, user=request.user)  # type: ignore[arg-type]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{filters.params()["since"]}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["key", "label", *(heading for _k, heading, _u in tile.columns), "cases_url"])
    for row in tile.rows:
        writer.writerow(
            [
                row.key,
                row.label,
                *(_cell(row.values.get(k)) for k, _h, _u in tile.columns),
                request.build_absolute_uri(row.href) if row.href else "",
            ]
        )
    return response


@require_GET
@login_required
def drill_cases(request: HttpRequest) -> HttpResponse:
    """The cases behind one figure: the same conditions that counted them, newest first."""
    name = request.GET.get("tile", "")
    _tile_or_404(request, name)
    _form, filters, valid = _filters(request)
    key = request.GET.get("key", "all")
    try:
        rows = tile_cases(name=name, key=key, filters=filters, user=request.user)  # type: ignore[arg-type]
        cases, next_after = keyset_page(
            rows.select_related("customer", "assignee", "site"),
            order=Order("created_at", descending=True),
            after=request.GET.get("after"),
            limit=DRILL_PAGE,
            field="after",
        )
    except (ValidationFailed, NotFound) as refusal:
        return render(
            request,
            "dashboards/cases.html",
            {"error": str(refusal), "tile": TILES[name], "name": name},
            status=400,
        )
    total = rows.count()
    return render(
        request,
        "dashboards/cases.html",
        {
            "tile": TILES[name],
            "name": name,
            "key": key,
            "cases": cases,
            "total": total,
            "next_after": next_after,
            "paged": bool(request.GET.get("after")),
            "filters": filters,
            "valid": valid,
            "back_query": filters.query(),
            "statuses": dict(Case.Status.choices),
        },
    )
