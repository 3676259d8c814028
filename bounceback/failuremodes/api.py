"""The failure-mode catalog API, mounted at /api/catalog.

catalog:read reads; catalog:write proposes and votes. Accepting, rejecting,
editing and touchpoint changes also need the lead's permission when a
signed-in person calls (the services check it); a token with catalog:write
may do them, as it acts for the integration that holds it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act
from bounceback.api.schemas import ERRORS, PatchSchema, Schema
from bounceback.errors import NotFound, ValidationFailed
from bounceback.failuremodes import selectors, services
from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.failuremodes.selectors import CatalogEntry
from bounceback.sites.models import Site

router = Router(tags=["catalog"])


# --- Schemas ----------------------------------------------------------------------------------


class TouchpointIn(Schema):
    name: str = Field(..., max_length=120)
    description: str = ""
    site: str | None = Field(None, description="Site code; none for every site")
    position: int = Field(0, description="Order in the customer journey, first stage first")


class TouchpointPatch(PatchSchema):
    nullable = frozenset({"site"})

    name: str | None = Field(None, max_length=120)
    description: str | None = None
    site: str | None = Field(None, description="Site code; null for every site")
    position: int | None = None


class TouchpointOut(Schema):
    id: int
    name: str
    description: str
    site: str | None
    position: int

    @staticmethod
    def resolve_site(obj: Touchpoint) -> str | None:
        return obj.site.code if obj.site_id and obj.site else None


class FailureModeIn(Schema):
    touchpoint_id: int
    title: str = Field(..., max_length=160)
    description: str = ""
    effect: str = ""
    cause: str = ""
    severity: int = Field(..., description="1 (negligible) to 10 (severe)")
    occurrence: int = Field(..., description="1 (rare) to 10 (daily); see the scale")
    detection: int = Field(
        ..., description="1 (we always notice first) to 10 (the customer tells us)"
    )


class FailureModePatch(PatchSchema):
    touchpoint_id: int | None = None
    title: str | None = Field(None, max_length=160)
    description: str | None = None
    effect: str | None = None
    cause: str | None = None
    severity: int | None = None
    occurrence: int | None = None
    detection: int | None = None


class ObservedOut(Schema):
    period_days: int
    observed_days: float = Field(..., description="Days of the period with case history")
    case_count: int = Field(
        ...,
        description="Occurrences: a case on its own counts once, and so does a breakdown "
        "however many customers it hit",
    )
    customer_count: int = Field(..., description="Every case linked to the mode in the period")
    cases_per_30_days: float = Field(..., description="Occurrences per 30 days")
    implied_occurrence: int | None = Field(
        ..., description="The occurrence score the real rate implies"
    )
    disagreement: str | None = Field(
        ..., description="'more' or 'less' when the real frequency disagrees with the estimate"
    )


class FailureModeOut(Schema):
    id: int
    touchpoint_id: int
    touchpoint: str
    site: str | None
    title: str
    description: str
    effect: str
    cause: str
    severity: int
    occurrence: int
    detection: int
    rpn: int
    status: str
    proposed_by: str | None
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    votes_up: int
    votes_down: int
    observed: ObservedOut


class VoteIn(Schema):
    value: int = Field(..., description="+1 (a real risk) or -1 (not one)")
    comment: str = Field("", max_length=300)


class FailureModeDecisionIn(Schema):
    reason: str = ""


class CatalogFilters(Schema):
    status: str | None = Field(None, description="proposed, accepted, rejected or retired")
    touchpoint: int | None = Field(None, description="Touchpoint id")
    site: str | None = Field(None, description="Site code: its touchpoints and the all-site ones")
    period_days: int = Field(selectors.DEFAULT_PERIOD, description="Days of cases to count")


class PlaybookRef(Schema):
    id: int
    name: str


class CoverageRowOut(Schema):
    failure_mode_id: int
    title: str
    touchpoint: str
    site: str | None
    severity: int
    occurrence: int
    detection: int
    rpn: int
    high_risk: bool
    gap: bool
    playbooks: list[PlaybookRef]


class CoverageOut(Schema):
    threshold: int
    high_risk: int
    covered: int
    gaps: int
    items: list[CoverageRowOut]


class CoverageFilters(Schema):
    threshold: int = Field(
        selectors.DEFAULT_RPN_THRESHOLD,
        description="RPN from which a failure mode is high risk (severity 9-10 always is)",
    )
    site: str | None = None


# --- Helpers ------------------------------------------------------------------------------------


def _site(code: str | None) -> Site | None:
    if not code:
        return None
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site with code {code!r}", field="site")
    return site


def _touchpoint(pk: int, field: str = "touchpoint_id") -> Touchpoint:
    row = Touchpoint.objects.select_related("site").filter(pk=pk).first()
    if row is None:
        raise NotFound(f"no touchpoint with id {pk}", field=field)
    return row


def _mode(pk: int) -> FailureMode:
    row = FailureMode.objects.filter(pk=pk).first()
    if row is None:
        raise NotFound(f"no failure mode with id {pk}")
    return row


def _out(entry: CatalogEntry, period_days: int) -> dict[str, Any]:
    mode, seen = entry.mode, entry.observed
    tp = mode.touchpoint
    return {
        **{
            name: getattr(mode, name)
            for name in (
                "id",
                "touchpoint_id",
                "title",
                "description",
                "effect",
                "cause",
                "severity",
                "occurrence",
                "detection",
                "rpn",
                "status",
                "proposed_at",
                "decided_at",
                "decision_reason",
            )
        },
        "touchpoint": tp.name,
        "site": tp.site.code if tp.site_id and tp.site else None,
        "proposed_by": str(mode.proposed_by) if mode.proposed_by else None,
        "decided_by": str(mode.decided_by) if mode.decided_by else None,
        "votes_up": entry.votes_up,
        "votes_down": entry.votes_down,
        "observed": {
            "period_days": period_days,
            "observed_days": round(seen.days, 2),
            "case_count": seen.cases,
            "customer_count": seen.customers,
            "cases_per_30_days": round(seen.rate, 2),
            "implied_occurrence": seen.implied,
            "disagreement": seen.disagreement,
        },
    }


def _one(pk: int, period_days: int = selectors.DEFAULT_PERIOD) -> dict[str, Any]:
    entries = selectors.catalog(status=None, failure_mode_id=pk, period_days=period_days)
    if not entries:
        raise NotFound(f"no failure mode with id {pk}")
    return _out(entries[0], period_days)


# --- Touchpoints --------------------------------------------------------------------------------


@router.get(
    "/touchpoints",
    response={200: list[TouchpointOut], **ERRORS},
    summary="Touchpoints in journey order",
)
def list_touchpoints(request: HttpRequest, site: str | None = None) -> list[Touchpoint]:
    require_scope(request, "catalog:read")
    return selectors.touchpoints(site=_site(site))


@router.post("/touchpoints", response={201: TouchpointOut, **ERRORS}, summary="Add a touchpoint")
def create_touchpoint(request: HttpRequest, payload: TouchpointIn) -> Status[Touchpoint]:
    actor = act(request, "catalog:write")
    touchpoint = services.touchpoint_create(
        actor=actor,
        name=payload.name,
        description=payload.description,
        site=_site(payload.site),
        position=payload.position,
    )
    return Status(201, touchpoint)


@router.patch(
    "/touchpoints/{touchpoint_id}",
    response={200: TouchpointOut, **ERRORS},
    summary="Rename, move or re-site a touchpoint",
)
def update_touchpoint(
    request: HttpRequest, touchpoint_id: int, payload: TouchpointPatch
) -> Touchpoint:
    actor = act(request, "catalog:write")
    touchpoint = _touchpoint(touchpoint_id, field="touchpoint_id")
    changes = payload.dict(exclude_unset=True)
    for name in ("name", "position"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name} cannot be null", field=name)
    if "description" in changes and changes["description"] is None:
        changes["description"] = ""
    if "site" in changes:
        changes["site"] = _site(changes["site"])
    return services.touchpoint_update(touchpoint=touchpoint, actor=actor, **changes)


# --- Failure modes ------------------------------------------------------------------------------


@router.get(
    "/failure-modes",
    response={200: list[FailureModeOut], **ERRORS},
    summary="The catalog: failure modes in journey order with their real case counts",
)
def list_failure_modes(request: HttpRequest, filters: Query[CatalogFilters]) -> list[Any]:
    require_scope(request, "catalog:read")
    # The whole catalog in one answer: it is tens or hundreds of rows, and the
    # case counts are what a reader compares across it.
    entries = selectors.catalog(
        status=filters.status,
        touchpoint=_touchpoint(filters.touchpoint, field="touchpoint")
        if filters.touchpoint is not None
        else None,
        site=_site(filters.site),
        period_days=filters.period_days,
    )
    return [_out(e, filters.period_days) for e in entries]


@router.post(
    "/failure-modes",
    response={201: FailureModeOut, **ERRORS},
    summary="Propose a failure mode (any staff member)",
)
def propose(request: HttpRequest, payload: FailureModeIn) -> Status[dict[str, Any]]:
    actor = act(request, "catalog:write")
    mode = services.failure_mode_propose(
        actor=actor,
        touchpoint=_touchpoint(payload.touchpoint_id),
        title=payload.title,
        description=payload.description,
        effect=payload.effect,
        cause=payload.cause,
        severity=payload.severity,
        occurrence=payload.occurrence,
        detection=payload.detection,
    )
    return Status(201, _one(mode.pk))


@router.get(
    "/failure-modes/{failure_mode_id}",
    response={200: FailureModeOut, **ERRORS},
    summary="One failure mode with its real case count",
)
def get_failure_mode(
    request: HttpRequest, failure_mode_id: int, period_days: int = selectors.DEFAULT_PERIOD
) -> dict[str, Any]:
    require_scope(request, "catalog:read")
    return _one(failure_mode_id, period_days)


@router.patch(
    "/failure-modes/{failure_mode_id}",
    response={200: FailureModeOut, **ERRORS},
    summary="Edit or re-score a failure mode (leads and managers)",
)
def update_failure_mode(
    request: HttpRequest, failure_mode_id: int, payload: FailureModePatch
) -> dict[str, Any]:
    actor = act(request, "catalog:write")
    mode = _mode(failure_mode_id)
    changes = payload.dict(exclude_unset=True)
    for name, value in list(changes.items()):
        if value is None and name in {"touchpoint_id", "title", *services.SCORES}:
            raise ValidationFailed(f"{name} cannot be null", field=name)
        if value is None:
            changes[name] = ""
    if "touchpoint_id" in changes:
        changes["touchpoint"] = _touchpoint(changes.pop("touchpoint_id"))
    services.failure_mode_update(failure_mode=mode, actor=actor, **changes)
    return _one(failure_mode_id)


@router.post(
    "/failure-modes/{failure_mode_id}/votes",
    response={200: FailureModeOut, **ERRORS},
    summary="Vote on a proposed failure mode; voting again replaces your vote",
)
def vote(request: HttpRequest, failure_mode_id: int, payload: VoteIn) -> dict[str, Any]:
    actor = act(request, "catalog:write")
    services.failure_mode_vote(
        failure_mode=_mode(failure_mode_id),
        voter=actor,
        value=payload.value,
        comment=payload.comment,
    )
    return _one(failure_mode_id)


@router.post(
    "/failure-modes/{failure_mode_id}/accept",
    response={200: FailureModeOut, **ERRORS},
    summary="Accept a proposed failure mode into the catalog (leads and managers)",
)
def accept(
    request: HttpRequest, failure_mode_id: int, payload: FailureModeDecisionIn
) -> dict[str, Any]:
    actor = act(request, "catalog:write")
    services.failure_mode_accept(
        failure_mode=_mode(failure_mode_id), actor=actor, reason=payload.reason
    )
    return _one(failure_mode_id)


@router.post(
    "/failure-modes/{failure_mode_id}/reject",
    response={200: FailureModeOut, **ERRORS},
    summary="Reject a proposed failure mode with a reason (leads and managers)",
)
def reject(
    request: HttpRequest, failure_mode_id: int, payload: FailureModeDecisionIn
) -> dict[str, Any]:
    actor = act(request, "catalog:write")
    services.failure_mode_reject(
        failure_mode=_mode(failure_mode_id), actor=actor, reason=payload.reason
    )
    return _one(failure_mode_id)


@router.get(
    "/coverage",
    response={200: CoverageOut, **ERRORS},
    summary="Accepted failure modes by risk, with their playbooks; high risk without one is a gap",
)
def coverage(request: HttpRequest, filters: Query[CoverageFilters]) -> dict[str, Any]:
    require_scope(request, "catalog:read")
    report = selectors.coverage(threshold=filters.threshold, site=_site(filters.site))
    return {
        "threshold": report.threshold,
        "high_risk": report.high_risk,
        "covered": report.covered,
        "gaps": len(report.gaps),
        "items": [
            {
                "failure_mode_id": row.mode.pk,
                "title": row.mode.title,
                "touchpoint": row.mode.touchpoint.name,
                "site": row.mode.touchpoint.site.code if row.mode.touchpoint.site else None,
                "severity": row.mode.severity,
                "occurrence": row.mode.occurrence,
                "detection": row.mode.detection,
                "rpn": row.mode.rpn,
                "high_risk": row.high_risk,
                "gap": row.gap,
                "playbooks": [{"id": p.pk, "name": p.name} for p in row.playbooks],
            }
            for row in report.rows
        ],
    }
