"""The learning API: themes and each case's theme (problem records follow)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act, by_id
from bounceback.api.pagination import cursor_page
from bounceback.api.schemas import ERRORS
from bounceback.cases.models import Case
from bounceback.errors import ValidationFailed
from bounceback.failuremodes.models import Touchpoint
from bounceback.learning import selectors, services
from bounceback.learning.models import Theme

router = Router(tags=["learning"])


class ThemeOut(Schema):
    id: int
    name: str = Field(..., description="Given by staff; empty until someone names it")
    label: str = Field(..., description="Its most distinctive words")
    title: str = Field(..., description="The name, else the label")
    words: list[str]
    state: str = Field(..., description="active, merged or retired")
    merged_into_id: int | None
    split_from_id: int | None
    proposal_id: int | None = Field(..., description="The failure mode proposed from it")
    case_count: int
    recent_count: int = Field(..., description="Cases in the last 7 days")
    previous_count: int = Field(..., description="Cases in the 21 days before those 7")
    is_new: bool = Field(..., description="Appeared at the latest recompute")
    growing: bool = Field(..., description="Last week at least twice its weekly average before")
    created_at: datetime
    computed_at: datetime


class ThemeCaseOut(Schema):
    id: int
    reference: str
    summary: str
    status: str
    created_at: datetime


class ThemeWeekOut(Schema):
    week: date = Field(..., description="Monday of the week")
    cases: int


class ThemeCountOut(Schema):
    name: str
    cases: int


class ThemeDetailOut(ThemeOut):
    representatives: list[ThemeCaseOut] = Field(..., description="Cases nearest its centre")
    weeks: list[ThemeWeekOut] = Field(..., description="The last 12 weeks, oldest first")
    by_site: list[ThemeCountOut]
    by_failure_mode: list[ThemeCountOut]


class ThemeFilters(Schema):
    state: str | None = Field("active", description="active (default), merged, retired or all")


class ThemeCasesFilters(Schema):
    cursor: str | None = None
    limit: int = 50


class ThemeCasePage(Schema):
    items: list[ThemeCaseOut]
    next_cursor: str | None


class ThemePatch(Schema):
    name: str = Field(..., max_length=120)


class ThemeMergeIn(Schema):
    into_id: int = Field(..., description="The theme that takes this one's cases")


class ThemeProposalIn(Schema):
    touchpoint_id: int
    title: str = Field("", max_length=160, description="Defaults to the theme's title")
    severity: int = 5
    occurrence: int = 5
    detection: int = 5


class ThemeProposalOut(Schema):
    failure_mode_id: int
    title: str
    status: str


class CaseThemeOut(Schema):
    case_id: int
    theme: ThemeOut | None = Field(..., description="None until the case is vectorised")
    fit: float | None = Field(..., description="Cosine to the theme's centre")


def _theme(theme_id: int) -> Theme:
    return get_object_or_404(Theme, pk=theme_id)


def _case_ref(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "reference": case.reference or "",
        "summary": case.summary,
        "status": case.status,
        "created_at": case.created_at,
    }


def _detail(theme: Theme) -> dict[str, Any]:
    trend = selectors.theme_trend(theme=theme)
    return {
        **ThemeOut.from_orm(theme).dict(),
        "representatives": [_case_ref(c) for c in selectors.theme_representatives(theme=theme)],
        "weeks": [{"week": w, "cases": n} for w, n in trend.weeks],
        "by_site": [{"name": k, "cases": n} for k, n in trend.by_site],
        "by_failure_mode": [{"name": k, "cases": n} for k, n in trend.by_failure_mode],
    }


@router.get("/themes", response={200: list[ThemeOut], **ERRORS}, summary="Themes, largest first")
def list_themes(request: HttpRequest, filters: Query[ThemeFilters]) -> list[Theme]:
    require_scope(request, "learning:read")
    rows = Theme.objects.all()
    if filters.state and filters.state != "all":
        if filters.state not in Theme.State.values:
            raise ValidationFailed(
                f"state must be one of {', '.join(Theme.State.values)} or all", field="state"
            )
        rows = rows.filter(state=filters.state)
    return list(rows)


@router.get(
    "/themes/{theme_id}",
    response={200: ThemeDetailOut, **ERRORS},
    summary="A theme: its words, representative cases, weeks, sites and failure modes",
)
def get_theme(request: HttpRequest, theme_id: int) -> dict[str, Any]:
    require_scope(request, "learning:read")
    return _detail(_theme(theme_id))


@router.get(
    "/themes/{theme_id}/cases",
    response={200: ThemeCasePage, **ERRORS},
    summary="The theme's cases, newest first",
)
def theme_cases(
    request: HttpRequest, theme_id: int, filters: Query[ThemeCasesFilters]
) -> dict[str, Any]:
    require_scope(request, "learning:read")
    rows = selectors.theme_cases(theme=_theme(theme_id))
    items, next_cursor = cursor_page(
        rows, cursor=filters.cursor, limit=filters.limit, order_field="created_at", descending=True
    )
    return {"items": [_case_ref(c) for c in items], "next_cursor": next_cursor}


@router.patch("/themes/{theme_id}", response={200: ThemeOut, **ERRORS}, summary="Name a theme")
def rename_theme(request: HttpRequest, theme_id: int, payload: ThemePatch) -> Theme:
    actor = act(request, "learning:write")
    return services.theme_rename(theme=_theme(theme_id), name=payload.name, actor=actor)


@router.post(
    "/themes/{theme_id}/merge",
    response={200: ThemeOut, **ERRORS},
    summary="Merge this theme into another; answers the theme that remains",
)
def merge_theme(request: HttpRequest, theme_id: int, payload: ThemeMergeIn) -> Theme:
    actor = act(request, "learning:write")
    into = by_id(Theme, payload.into_id, "into_id", "theme")
    return services.theme_merge(theme=_theme(theme_id), into=into, actor=actor)


@router.post(
    "/themes/{theme_id}/split",
    response={201: list[ThemeOut], **ERRORS},
    summary="Split a theme in two by its own cases; answers the two new themes",
)
def split_theme(request: HttpRequest, theme_id: int) -> Status[list[Theme]]:
    actor = act(request, "learning:write")
    return Status(201, services.theme_split(theme=_theme(theme_id), actor=actor))


@router.post(
    "/themes/{theme_id}/proposal",
    response={201: ThemeProposalOut, **ERRORS},
    summary="Propose a failure mode for the catalog from this theme",
)
def propose_from_theme(
    request: HttpRequest, theme_id: int, payload: ThemeProposalIn
) -> Status[dict[str, Any]]:
    actor = act(request, "catalog:write")
    touchpoint = by_id(Touchpoint, payload.touchpoint_id, "touchpoint_id", "touchpoint")
    mode = services.theme_propose_failure_mode(
        theme=_theme(theme_id),
        touchpoint=touchpoint,
        actor=actor,
        title=payload.title,
        severity=payload.severity,
        occurrence=payload.occurrence,
        detection=payload.detection,
    )
    return Status(201, {"failure_mode_id": mode.pk, "title": mode.title, "status": mode.status})


@router.get(
    "/cases/{case_id}/theme", response={200: CaseThemeOut, **ERRORS}, summary="A case's theme"
)
def case_theme(request: HttpRequest, case_id: int) -> dict[str, Any]:
    require_scope(request, "learning:read")
    case = get_object_or_404(Case, pk=case_id)
    found = selectors.case_theme_fit(case=case)
    return {
        "case_id": case.pk,
        "theme": found[0] if found else None,
        "fit": found[1] if found else None,
    }
