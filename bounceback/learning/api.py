"""The learning API: themes, each case's theme, problem records, Pareto."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status

from bounceback.accounts.models import User
from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act, by_id
from bounceback.api.pagination import cursor_page
from bounceback.api.schemas import ERRORS, PatchSchema, Schema
from bounceback.cases.models import Case
from bounceback.errors import NotFound, ValidationFailed
from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.learning import selectors, services
from bounceback.learning.models import Problem, Theme

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


class ThemePatch(PatchSchema):
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


# --- Problems -----------------------------------------------------------------------------


class ProblemCheckOut(Schema):
    before_cases: int
    before_volume: int = Field(..., description="Transactions in the window before")
    after_cases: int
    after_volume: int
    before_rate: float = Field(..., description="Cases per 1,000 transactions")
    after_rate: float
    ratio: float | None = Field(..., description="After rate / before rate")
    p_lower: float = Field(..., description="One-sided Poisson rate test: P(this few after)")
    dropped: bool = Field(..., description="Significantly lower after (p < 0.05)")


class ProblemOut(Schema):
    id: int
    reference: str
    title: str
    description: str
    status: str = Field(..., description="open, watching, verified_fixed or reopened")
    theme_id: int | None
    failure_mode_id: int | None
    root_cause: str
    corrective_action: str
    action_owner_id: int | None
    action_due: date | None
    action_done_at: datetime | None
    workaround: str
    verified_at: datetime | None
    reopened_at: datetime | None
    checked_at: datetime | None
    last_check: dict[str, Any] = Field(..., description="The latest recurrence check, as stored")
    case_count: int = Field(..., description="Matching cases (by hand, theme, failure mode)")
    created_at: datetime


class ProblemIn(Schema):
    title: str = Field(..., max_length=200)
    description: str = ""
    theme_id: int | None = None
    failure_mode_id: int | None = None
    case_ids: list[int] = Field(default_factory=list, description="Cases grouped by hand")


class ProblemPatch(PatchSchema):
    title: str | None = Field(None, max_length=200)
    description: str | None = None
    root_cause: str | None = None
    corrective_action: str | None = None
    workaround: str | None = Field(None, description="Shown on every new matching case")
    action_owner_id: int | None = None
    action_due: date | None = None


class ProblemActionIn(Schema):
    at: datetime | None = Field(None, description="When the action took effect; default now")


class ProblemCaseIn(Schema):
    case_id: int


class ParetoRowOut(Schema):
    key: str
    cases: int = Field(..., description="Cases in the period")
    previous: int = Field(..., description="Cases in the period before, of the same length")
    change: int
    share: float
    cumulative: float


class ParetoFilters(Schema):
    by: str = Field("failure_mode", description="failure_mode, theme, site, channel or product")
    days: int = Field(30, ge=1, le=366)


def _problem_out(problem: Problem) -> dict[str, Any]:
    from bounceback.learning.selectors import problem_cases

    return {
        **{f: getattr(problem, f) for f in ProblemOut.model_fields if hasattr(problem, f)},
        "reference": problem.reference or "",
        "case_count": problem_cases(problem=problem).count(),
    }


def _problem(problem_id: int) -> Problem:
    return get_object_or_404(Problem, pk=problem_id)


@router.get("/problems", response={200: list[ProblemOut], **ERRORS}, summary="Problem records")
def list_problems(request: HttpRequest) -> list[dict[str, Any]]:
    require_scope(request, "learning:read")
    return [_problem_out(p) for p in Problem.objects.all()[:200]]


@router.post("/problems", response={201: ProblemOut, **ERRORS}, summary="Open a problem record")
def create_problem(request: HttpRequest, payload: ProblemIn) -> Status[dict[str, Any]]:
    actor = act(request, "learning:write")
    theme = by_id(Theme, payload.theme_id, "theme_id", "theme")
    mode = by_id(FailureMode, payload.failure_mode_id, "failure_mode_id", "failure mode")
    cases = list(Case.objects.filter(pk__in=payload.case_ids))
    missing = set(payload.case_ids) - {c.pk for c in cases}
    if missing:
        raise NotFound(f"no case {min(missing)}", field="case_ids")
    problem = services.problem_create(
        actor=actor,
        title=payload.title,
        description=payload.description,
        theme=theme,
        failure_mode=mode,
        cases=cases,
    )
    return Status(201, _problem_out(problem))


@router.get("/problems/{problem_id}", response={200: ProblemOut, **ERRORS}, summary="A problem")
def get_problem(request: HttpRequest, problem_id: int) -> dict[str, Any]:
    require_scope(request, "learning:read")
    return _problem_out(_problem(problem_id))


@router.patch(
    "/problems/{problem_id}",
    response={200: ProblemOut, **ERRORS},
    summary="Root cause, corrective action (owner, due date), workaround",
)
def update_problem(request: HttpRequest, problem_id: int, payload: ProblemPatch) -> dict[str, Any]:
    actor = act(request, "learning:write")
    changes = payload.dict(exclude_unset=True)
    owner_id = changes.pop("action_owner_id", None)
    owner = by_id(User, owner_id, "action_owner_id", "user")
    due = changes.pop("action_due", None)
    texts = {k: v for k, v in changes.items() if v is not None}
    problem = services.problem_update(
        problem=_problem(problem_id), actor=actor, action_owner=owner, action_due=due, **texts
    )
    return _problem_out(problem)


@router.post(
    "/problems/{problem_id}/action-done",
    response={200: ProblemOut, **ERRORS},
    summary="The corrective action is in place: the rate is watched from then",
)
def problem_action_done(
    request: HttpRequest, problem_id: int, payload: ProblemActionIn
) -> dict[str, Any]:
    actor = act(request, "learning:write")
    done = services.problem_action_done(problem=_problem(problem_id), actor=actor, at=payload.at)
    return _problem_out(done)


@router.post(
    "/problems/{problem_id}/verify",
    response={200: ProblemOut, **ERRORS},
    summary="Check now whether recurrence dropped (verified fixed only if significantly)",
)
def verify_problem(request: HttpRequest, problem_id: int) -> dict[str, Any]:
    act(request, "learning:write")
    return _problem_out(services.problem_verify(problem=_problem(problem_id)))


@router.post(
    "/problems/{problem_id}/cases",
    response={201: ProblemOut, **ERRORS},
    summary="Put a case in the problem by hand",
)
def add_problem_case(
    request: HttpRequest, problem_id: int, payload: ProblemCaseIn
) -> Status[dict[str, Any]]:
    actor = act(request, "learning:write")
    case = by_id(Case, payload.case_id, "case_id", "case")
    problem = _problem(problem_id)
    services.problem_add_case(problem=problem, case=case, actor=actor)
    return Status(201, _problem_out(problem))


@router.get(
    "/pareto",
    response={200: list[ParetoRowOut], **ERRORS},
    summary="Cases by failure mode, theme, site, channel or product, with the period before",
)
def pareto(request: HttpRequest, filters: Query[ParetoFilters]) -> list[dict[str, Any]]:
    require_scope(request, "learning:read")
    if filters.by not in selectors.PARETO_BY:
        raise ValidationFailed(f"by must be one of {', '.join(selectors.PARETO_BY)}", field="by")
    return [
        {**r.__dict__, "change": r.change}
        for r in selectors.pareto(by=filters.by, days=filters.days)
    ]
