from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act, by_id
from bounceback.api.pagination import cursor_page
from bounceback.api.schemas import ERRORS, PatchSchema, Schema
from bounceback.discovery import rules as rule_services
from bounceback.discovery import services
from bounceback.discovery.models import Rule, RuleFiring, SuspectedBreakdown
from bounceback.discovery.negativity import label, score
from bounceback.errors import ValidationFailed

router = Router(tags=["discovery"])


class ScoreIn(Schema):
    text: str = Field(..., examples=["Kindly refund me, the parcel never came"])


class ScoreOut(Schema):
    score: float | None = Field(..., description="0 (not negative) to 1 (very negative)")
    label: str = Field(..., description="very negative, negative, not negative, or none")


@router.post(
    "/score",
    response={200: ScoreOut, **ERRORS},
    summary="How negative a text reads (the scorer used on signals, messages and cases)",
)
def score_text(request: HttpRequest, payload: ScoreIn) -> dict[str, Any]:
    require_scope(request, "discovery:read")
    if len(payload.text) > 20_000:
        raise ValidationFailed("text is longer than 20000 characters", field="text")
    value = score(payload.text)
    return {"score": value, "label": label(value)}


class RuleIn(Schema):
    name: str
    conditions: dict[str, Any] = Field(
        ...,
        examples=[{"all": [{"field": "nps", "op": "<=", "value": 6}]}],
        description='A group {"all": [...]} or {"any": [...]} of {"field", "op", "value"} '
        "conditions or nested groups",
    )
    action: str = Field(
        ...,
        description="open_case (for a new case or a message on one: raise its severity and "
        "route it), proactive_contact (signals only: a proactive case and the playbook's first "
        "message) or alert_role",
    )
    action_params: dict[str, Any] = Field(
        default_factory=dict,
        description="severity, failure_mode_id, team_id, assignee_id, playbook_id (required "
        "for proactive_contact), role (required for alert_role), summary",
    )
    window_hours: int = Field(
        72, description="At most one action per customer per rule in this many hours"
    )
    active: bool = True
    position: int | None = None
    on_signals: bool = Field(True, description="Run on signals as they are recorded")
    on_cases: bool = Field(False, description="Run on cases as they are opened")
    on_messages: bool = Field(False, description="Run on customers' messages as they arrive")


class RulePatch(PatchSchema):
    name: str | None = None
    conditions: dict[str, Any] | None = None
    action: str | None = None
    action_params: dict[str, Any] | None = None
    window_hours: int | None = None
    active: bool | None = None
    position: int | None = None
    on_signals: bool | None = None
    on_cases: bool | None = None
    on_messages: bool | None = None


class RuleOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    version: int
    conditions: dict[str, Any]
    action: str
    action_params: dict[str, Any]
    window_hours: int
    on_signals: bool
    on_cases: bool
    on_messages: bool
    created_at: datetime
    updated_at: datetime


class RulePreviewIn(Schema):
    conditions: dict[str, Any]
    action: str = "open_case"
    action_params: dict[str, Any] = Field(default_factory=dict)
    window_hours: int = 72
    on_signals: bool = True
    on_cases: bool = False
    on_messages: bool = False


class RulePreviewSample(Schema):
    input: str = Field(..., description="signal, case or message")
    signal_id: int | None
    case_id: int | None
    interaction_id: int | None
    occurred_at: datetime
    customer_id: int | None
    summary: str
    text: str
    outcome: str


class RulePreviewOut(Schema):
    signals_read: int
    read: dict[str, int] = Field(..., description="Signals, cases and messages read, by input")
    matched: int
    counts: dict[str, int] = Field(..., description="What it would have done, by outcome")
    sample: list[RulePreviewSample]


class RuleVersionOut(Schema):
    number: int
    snapshot: dict[str, Any] = Field(..., description="The rule as this version saved it")
    actor_label: str = Field(..., description="Who saved it")
    at: datetime


class RuleFiringOut(Schema):
    id: int
    rule_id: int
    rule_version: int
    input: str = Field(..., description="What the rule looked at: signal, case or message")
    signal_id: int | None
    interaction_id: int | None
    customer_id: int | None
    case_id: int | None = Field(..., description="The case opened, routed or looked at")
    outcome: str = Field(
        ..., description="case_opened, case_routed, contacted, alerted, held_back or failed"
    )
    note: str
    at: datetime


class RuleFiringPage(Schema):
    items: list[RuleFiringOut]
    next_cursor: str | None


class SuspectedOut(Schema):
    id: int
    reference: str | None
    dimension: str
    value: str
    bucket: str
    status: str
    first_bucket_at: datetime
    last_bucket_at: datetime
    peak_count: int
    baseline: float
    p_value: float
    evidence: dict[str, Any]
    breakdown_id: int | None


class ScanIn(Schema):
    since: datetime
    until: datetime
    record: bool = Field(False, description="Raise suspected breakdowns for what is found")


class ScanSpikeOut(Schema):
    dimension: str
    value: str
    bucket: str
    at: datetime
    count: int = Field(..., description="Distinct customers in the bucket")
    baseline: float
    p_value: float


class ScanOut(Schema):
    spikes: list[ScanSpikeOut]
    raised: int
    updated: int


class DeclareIn(Schema):
    playbook_id: int | None = Field(None, description="Default: the failure mode's playbook")
    title: str | None = None


class DeclaredOut(Schema):
    breakdown_id: int
    reference: str | None


@router.get("/rules", response={200: list[RuleOut], **ERRORS}, summary="Rules, in order")
def list_rules(request: HttpRequest) -> list[Rule]:
    require_scope(request, "discovery:read")
    return list(Rule.objects.order_by("position", "id"))


@router.post("/rules", response={201: RuleOut, **ERRORS}, summary="Write a rule")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[Rule]:
    actor = act(request, "discovery:write")
    rule = rule_services.rule_create(actor=actor, **payload.dict())
    return Status(201, Rule.objects.get(pk=rule.pk))


@router.post(
    "/rules/preview",
    response={200: RulePreviewOut, **ERRORS},
    summary="What a rule would have done over the last 30 days, with a sample; nothing written",
)
def preview_rule(request: HttpRequest, payload: RulePreviewIn) -> dict[str, Any]:
    require_scope(request, "discovery:read")
    preview = rule_services.rule_preview(**payload.dict())
    return {
        "signals_read": preview.signals_read,
        "read": preview.read,
        "matched": preview.matched,
        "counts": preview.counts,
        "sample": [
            {
                "input": p.seen.input,
                "signal_id": p.seen.pk if p.seen.input == "signal" else None,
                "case_id": p.seen.case.pk if p.seen.case is not None else None,
                "interaction_id": p.seen.pk if p.seen.input == "message" else None,
                "occurred_at": p.seen.at,
                "customer_id": p.seen.customer_id,
                "summary": p.seen.summary,
                "text": p.seen.text[:300],
                "outcome": p.outcome,
            }
            for p in preview.sample
        ],
    }


@router.get("/rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="Read a rule")
def get_rule(request: HttpRequest, rule_id: int) -> Rule:
    require_scope(request, "discovery:read")
    return by_id(Rule, rule_id, "rule_id", "rule")


@router.patch(
    "/rules/{rule_id}",
    response={200: RuleOut, **ERRORS},
    summary="Change a rule (a new version); active=false switches it off",
)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> Rule:
    actor = act(request, "discovery:write")
    rule = by_id(Rule, rule_id, "rule_id", "rule")
    rule_services.rule_update(rule=rule, actor=actor, **payload.dict(exclude_unset=True))
    return Rule.objects.get(pk=rule_id)


@router.get(
    "/rules/{rule_id}/versions",
    response={200: list[RuleVersionOut], **ERRORS},
    summary="Every version of a rule, newest first, with who saved it",
)
def list_rule_versions(request: HttpRequest, rule_id: int) -> list[Any]:
    require_scope(request, "discovery:read")
    rule = by_id(Rule, rule_id, "rule_id", "rule")
    return list(rule.versions.order_by("-number"))


@router.get(
    "/rules/{rule_id}/firings",
    response={200: RuleFiringPage, **ERRORS},
    summary="What a rule did (or held back from), newest first",
)
def list_rule_firings(
    request: HttpRequest,
    rule_id: int,
    outcome: Literal["case_opened", "case_routed", "contacted", "alerted", "held_back", "failed"]
    | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    require_scope(request, "discovery:read")
    rule = by_id(Rule, rule_id, "rule_id", "rule")
    rows = RuleFiring.objects.filter(rule=rule)
    if outcome:
        rows = rows.filter(outcome=outcome)
    items, next_cursor = cursor_page(
        rows, cursor=cursor, limit=limit, order_field="at", descending=True
    )
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/scan",
    response={200: ScanOut, **ERRORS},
    summary="Scan any past window for spikes; with record, raise suspected breakdowns",
)
def scan(request: HttpRequest, payload: ScanIn) -> dict[str, Any]:
    act(request, "discovery:write" if payload.record else "discovery:read")
    result = services.discovery_scan(
        since=payload.since, until=payload.until, record=payload.record
    )
    return {
        "spikes": [s.__dict__ for s in result.spikes],
        "raised": len(result.raised),
        "updated": len(result.updated),
    }


@router.get(
    "/suspected",
    response={200: list[SuspectedOut], **ERRORS},
    summary="Suspected breakdowns, newest first (at most 200)",
)
def list_suspected(
    request: HttpRequest,
    status: Literal["open", "ended", "declared", "dismissed"] | None = None,
) -> list[SuspectedBreakdown]:
    require_scope(request, "discovery:read")
    rows = SuspectedBreakdown.objects.all()
    if status:
        rows = rows.filter(status=status)
    return list(rows[:200])


@router.get(
    "/suspected/{suspect_id}",
    response={200: SuspectedOut, **ERRORS},
    summary="Read a suspected breakdown with its evidence",
)
def get_suspected(request: HttpRequest, suspect_id: int) -> SuspectedBreakdown:
    require_scope(request, "discovery:read")
    return by_id(SuspectedBreakdown, suspect_id, "suspect_id", "suspected breakdown")


@router.post(
    "/suspected/{suspect_id}/declare",
    response={201: DeclaredOut, **ERRORS},
    summary="Declare a breakdown from it, pre-filled and linked to the open cases",
)
def declare(request: HttpRequest, suspect_id: int, payload: DeclareIn) -> Status[dict[str, Any]]:
    actor = act(request, "discovery:write")
    require_scope(request, "breakdowns:write")
    suspect = by_id(SuspectedBreakdown, suspect_id, "suspect_id", "suspected breakdown")
    from bounceback.playbooks.models import Playbook

    playbook = by_id(Playbook, payload.playbook_id, "playbook_id", "playbook")
    breakdown = services.suspected_declare(
        suspect=suspect, actor=actor, playbook=playbook, title=payload.title
    )
    return Status(201, {"breakdown_id": breakdown.pk, "reference": breakdown.reference})


@router.post(
    "/suspected/{suspect_id}/dismiss",
    response={200: SuspectedOut, **ERRORS},
    summary="Not a breakdown: close it (its series stays quiet through the cool-down)",
)
def dismiss(request: HttpRequest, suspect_id: int) -> SuspectedBreakdown:
    actor = act(request, "discovery:write")
    suspect = by_id(SuspectedBreakdown, suspect_id, "suspect_id", "suspected breakdown")
    services.suspected_dismiss(suspect=suspect, actor=actor)
    return SuspectedBreakdown.objects.get(pk=suspect_id)
