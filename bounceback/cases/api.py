from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status
from ninja.types import TCallable

from bounceback.accounts.models import Team, User
from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act, by_id
from bounceback.api.pagination import cursor_page
from bounceback.api.schemas import ERRORS, ApiTokenRefOut, PatchSchema, Schema, token_ref
from bounceback.cases import services
from bounceback.cases.models import Case, CaseBulkRun, CaseLink
from bounceback.cases.selectors import case_events, case_timers
from bounceback.coach.schemas import CoachOut, coach_out
from bounceback.coach.scoring import coach_score
from bounceback.customers.models import Customer
from bounceback.errors import NotFound
from bounceback.failuremodes.models import FailureMode
from bounceback.learning.schemas import (
    DuplicateOut,
    SimilarCaseOut,
    duplicate_out,
    similar_out,
)
from bounceback.learning.selectors import duplicate_candidates, similar_cases
from bounceback.sites.models import Site
from bounceback.transactions.models import Transaction

router = Router(tags=["cases"])
coach_router = Router(tags=["coach"])


# --- Schemas -----------------------------------------------------------------------------


class TimerOut(Schema):
    id: int
    kind: str
    state: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    breached_at: datetime | None
    paused: bool
    seconds_left: int | None = Field(None, description="Negative when overdue; None when done")
    escalation_level: int


class CaseIn(Schema):
    customer_id: int
    summary: str = Field(..., max_length=200)
    description: str = ""
    channel: str = "email"
    severity: str = "normal"
    site: str | None = Field(None, description="Site code")
    failure_mode_id: int | None = Field(
        None, description="What went wrong: an accepted failure mode from the catalog"
    )
    transaction_id: int | None = None
    assignee_id: int | None = None
    team_id: int | None = None


class CasePatch(PatchSchema):
    nullable = frozenset({"site", "failure_mode_id", "assignee_id", "team_id"})

    summary: str | None = Field(None, max_length=200)
    description: str | None = None
    severity: str | None = None
    site: str | None = None
    failure_mode_id: int | None = Field(
        None, description="An accepted failure mode from the catalog; null clears it"
    )
    assignee_id: int | None = None
    team_id: int | None = None


class CaseOut(Schema):
    id: int
    reference: str
    customer_id: int
    customer_name: str
    channel: str
    summary: str
    description: str
    severity: str
    site: str | None
    failure_mode_id: int | None
    failure_mode: str | None = Field(..., description="The failure mode's title")
    transaction_id: int | None
    assignee_id: int | None
    team_id: int | None
    status: str
    merged_into_id: int | None = Field(None, description="Set while merged into another case")
    breach_count: int
    created_at: datetime
    apologised_at: datetime | None
    apology_score: int | None
    what_went_wrong: str
    impact: str
    proposed_fix: str
    proposal_accepted: bool | None
    proposal_response: str
    reviewed_at: datetime | None
    last_update_at: datetime | None
    fixed_at: datetime | None
    fix_summary: str
    follow_up_sent_at: datetime | None
    follow_up_recorded_at: datetime | None
    satisfied: bool | None
    will_return: bool | None
    follow_up_comment: str
    root_cause: str
    what_was_done: str
    prevention_idea: str
    documented_at: datetime | None
    closed_at: datetime | None

    @staticmethod
    def resolve_customer_name(obj: Case) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_site(obj: Case) -> str | None:
        return obj.site.code if obj.site_id and obj.site else None

    @staticmethod
    def resolve_failure_mode(obj: Case) -> str | None:
        return obj.failure_mode.title if obj.failure_mode_id and obj.failure_mode else None


class CaseDetailOut(CaseOut):
    timers: list[TimerOut]
    timer_percent: int = Field(..., description="Share of the policy's times (from segments)")
    segments: list[str] = Field(..., description="The customer's segment slugs, leading first")
    guidance: list[str] = Field(..., description="Guidance of the customer's segments")


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class CaseFilters(Schema):
    status: str | None = None
    severity: str | None = None
    site: str | None = None
    customer_id: int | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    failure_mode_id: int | None = None
    open: bool | None = Field(None, description="Only open (true) or only closed (false)")
    breached: bool | None = Field(None, description="Only cases that missed a target")
    cursor: str | None = None
    limit: int = 50


class CaseMessageIn(Schema):
    body: str
    channel: str | None = Field(None, description="Defaults to the case's channel")


class ApologyIn(CaseMessageIn):
    subject: str = ""
    override_reason: str = Field(
        "", description="Required to send an apology the coach scores below the threshold"
    )


class CaseReviewIn(Schema):
    what_went_wrong: str | None = None
    impact: str | None = None
    proposed_fix: str | None = None
    proposal_accepted: bool | None = None
    proposal_response: str | None = None


class FixIn(Schema):
    fix_summary: str
    message: str = Field("", description="Optional message telling the customer")
    channel: str | None = None


class FollowUpIn(CaseMessageIn):
    early_reason: str = Field("", description="Required to follow up before the cool-off ends")


class OutcomeIn(Schema):
    satisfied: bool
    will_return: bool | None = None
    comment: str = ""
    reopen_recovery: bool = Field(
        True, description="For an unhappy answer: reopen the recovery (default) or end it here"
    )


class DocumentIn(Schema):
    root_cause: str
    what_was_done: str
    prevention_idea: str


class CaseReasonIn(Schema):
    reason: str = ""


class LinkIn(Schema):
    other_case_id: int
    kind: str = "related"


class LinkOut(Schema):
    from_case_id: int
    to_case_id: int
    kind: str


class CaseEventOut(Schema):
    id: int
    at: datetime
    kind: str
    summary: str
    actor: str
    token: ApiTokenRefOut | None = Field(
        None, description="The API token another system acted through, when one did"
    )
    data: dict[str, Any]
    message: str | None = None
    channel: str | None = None
    direction: str | None = None


class CoachIn(Schema):
    text: str
    case_id: int | None = Field(None, description="Score against this case's policy and details")
    language: str | None = Field(
        None, description="The draft's language (ISO 639-1); detected from the text when absent"
    )


# --- Helpers --------------------------------------------------------------------------------


def _case(case_id: int) -> Case:
    return get_object_or_404(
        Case.objects.select_related("customer", "site", "site__calendar", "failure_mode"),
        pk=case_id,
    )


def _detail(case_id: int) -> Case:
    """The case as stored now, carrying its timers for CaseDetailOut."""
    case = _case(case_id)
    case.timers = [t.__dict__ for t in case_timers(case=case)]  # type: ignore[attr-defined]
    from bounceback.segments.selectors import customer_approach

    approach = customer_approach(case.customer_id)
    case.segments, case.guidance = approach.slugs, approach.guidance  # type: ignore[attr-defined]
    return case


def _site(code: str | None) -> Site | None:
    if not code:
        return None
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site with code {code!r}", field="site")
    return site


# --- Endpoints ------------------------------------------------------------------------------


class CaseImportIn(Schema):
    source: str = Field(
        ..., examples=["zendesk"], description="The system the complaints come from"
    )
    # Checked item by item (a bad one is reported, the rest stored).
    items: list[Any] = Field(
        ...,
        description="Up to 10,000 past complaints, each an object with external_id, "
        "opened_at (ISO 8601), closed_at, status, summary, description, category, product, "
        "channel, site, customer_name, customer_email, customer_phone, customer_external_id",
    )


class CaseImportError(Schema):
    index: int
    field: str | None
    message: str


class CaseImportOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[CaseImportError]


@router.post(
    "/import",
    response={200: CaseImportOut, **ERRORS},
    summary="Bring in past complaints from another system; closed ones stay closed and send "
    "nothing; sending one again updates it",
)
def import_cases(request: HttpRequest, payload: CaseImportIn) -> dict[str, Any]:
    from django.conf import settings

    from bounceback.errors import ValidationFailed
    from bounceback.imports.services import cases_import_items

    actor = act(request, "cases:write")
    if not payload.items:
        raise ValidationFailed("items is empty", field="items")
    if len(payload.items) > settings.BULK_UPSERT_LIMIT:
        raise ValidationFailed(
            f"at most {settings.BULK_UPSERT_LIMIT} items per call", field="items"
        )
    counts, rejected = cases_import_items(items=payload.items, source=payload.source, actor=actor)
    return {
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "rejected": len(rejected),
        "errors": [
            {"index": index, "field": r.field, "message": r.message}
            for index, r in sorted(rejected.items())
        ],
    }


@router.post("/", response={201: CaseDetailOut, **ERRORS}, summary="Open a case")
def open_case(request: HttpRequest, payload: CaseIn) -> Status[Case]:
    actor = act(request, "cases:write")
    customer = by_id(Customer, payload.customer_id, "customer_id", "customer")
    case = services.case_open(
        customer=customer,
        summary=payload.summary,
        description=payload.description,
        channel=payload.channel,
        severity=payload.severity,
        site=_site(payload.site),
        failure_mode=by_id(FailureMode, payload.failure_mode_id, "failure_mode_id", "failure mode"),
        related_transaction=by_id(
            Transaction, payload.transaction_id, "transaction_id", "transaction"
        ),
        assignee=by_id(User, payload.assignee_id, "assignee_id", "user"),
        team=by_id(Team, payload.team_id, "team_id", "team"),
        actor=actor,
    )
    return Status(201, _detail(case.pk))


class CaseBulkIn(Schema):
    case_ids: list[int] = Field(
        ..., description="The cases to act on, any number (many go to the background)"
    )
    action: str = Field(
        ...,
        description="assign, failure_mode, link, message (a progress update), document, "
        "follow_up or close (documents first when documentation is given)",
    )
    assignee_id: int | None = Field(None, description="assign: the person; null for nobody")
    failure_mode_id: int | None = Field(None, description="failure_mode: an accepted mode")
    link_to_case_id: int | None = Field(
        None, description="link: the case to link them to; the oldest chosen when absent"
    )
    body: str = Field("", description="message and follow_up: the text")
    channel: str | None = Field(
        None, description="message and follow_up: each case's own when absent"
    )
    early_reason: str = Field("", description="follow_up: why before the cool-off ends")
    root_cause: str = ""
    what_was_done: str = ""
    prevention_idea: str = ""


class CaseBulkRefusedOut(Schema):
    id: int
    reference: str
    code: str
    message: str
    field: str | None


class CaseBulkDoneOut(Schema):
    id: int
    reference: str
    status: str


class CaseBulkOut(Schema):
    action: str
    done: list[CaseBulkDoneOut] = Field(..., description="The cases the action changed")
    refused: list[CaseBulkRefusedOut] = Field(
        ..., description="The cases left as they were, each with the reason"
    )
    summary: str


class CaseBulkRunOut(Schema):
    id: int
    action: str
    state: str = Field(..., description="running, or done")
    total: int = Field(..., description="How many cases were asked for")
    position: int = Field(..., description="How many have been worked through")
    done_count: int = Field(..., description="How many the action changed")
    refused_count: int = Field(..., description="How many were left as they were")
    refused: list[CaseBulkRefusedOut] = Field(
        ..., description="The first refusals (up to 500), each with the reason"
    )
    summary: str
    url: str = Field(..., description="The page showing the run's progress")
    created_at: datetime
    finished_at: datetime | None


def _run_out(run: CaseBulkRun) -> dict[str, Any]:
    from django.urls import reverse

    return {
        "id": run.pk,
        "action": run.action,
        "state": run.state,
        "total": run.total,
        "position": run.position,
        "done_count": run.done_count,
        "refused_count": run.refused_count,
        "refused": [
            {
                "id": r["case_id"],
                "reference": r["reference"],
                "code": r["code"],
                "message": r["message"],
                "field": r["field"],
            }
            for r in run.refused
        ],
        "summary": run.summary(),
        "url": reverse("cases:bulk_run", args=[run.pk]),
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


@router.post(
    "/bulk",
    response={200: CaseBulkOut, 202: CaseBulkRunOut, **ERRORS},
    summary="Act on many cases at once; each case is done or refused with its reason",
    description=f"Up to {services.BULK_INLINE} cases are done at once (200, with every "
    "case's outcome); more are checked, then worked through in the background (202, "
    "the run: follow it at GET /api/cases/bulk/{run_id}).",
)
def bulk(request: HttpRequest, payload: CaseBulkIn) -> Status[dict[str, Any]]:
    actor = act(request, "cases:write")
    ids = list(dict.fromkeys(payload.case_ids))
    cases = list(Case.objects.select_related("customer").filter(pk__in=ids))
    missing = sorted(set(ids) - {c.pk for c in cases})
    if missing:
        raise NotFound(f"no case with id {missing[0]}", field="case_ids")
    outcome = services.cases_bulk_request(
        cases=cases,
        action=payload.action,
        actor=actor,
        assignee=by_id(User, payload.assignee_id, "assignee_id", "user"),
        assignee_given="assignee_id" in payload.model_fields_set,
        failure_mode=by_id(FailureMode, payload.failure_mode_id, "failure_mode_id", "failure mode"),
        link_to=by_id(Case, payload.link_to_case_id, "link_to_case_id", "case"),
        body=payload.body,
        channel=payload.channel,
        early_reason=payload.early_reason,
        root_cause=payload.root_cause,
        what_was_done=payload.what_was_done,
        prevention_idea=payload.prevention_idea,
    )
    if isinstance(outcome, CaseBulkRun):
        return Status(202, _run_out(outcome))
    statuses = dict(
        Case.objects.filter(pk__in=[c.pk for c in outcome.done]).values_list("pk", "status")
    )
    return Status(
        200,
        {
            "action": outcome.action,
            "done": [
                {"id": c.pk, "reference": c.reference, "status": statuses[c.pk]}
                for c in outcome.done
            ],
            "refused": [
                {
                    "id": r.case_id,
                    "reference": r.reference,
                    "code": r.code,
                    "message": r.message,
                    "field": r.field,
                }
                for r in outcome.refused
            ],
            "summary": outcome.summary(),
        },
    )


@router.get(
    "/bulk/{run_id}",
    response={200: CaseBulkRunOut, **ERRORS},
    summary="A background bulk action: its progress, and what it did and could not",
)
def bulk_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    require_scope(request, "cases:read")
    run = CaseBulkRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"no bulk run with id {run_id}", field="run_id")
    return _run_out(run)


@router.get("/", response={200: CasePage, **ERRORS}, summary="List cases, newest first")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    require_scope(request, "cases:read")
    rows = Case.objects.select_related("customer", "site", "failure_mode")
    exact = {
        "status": filters.status,
        "severity": filters.severity,
        "site__code": filters.site,
        "customer_id": filters.customer_id,
        "assignee_id": filters.assignee_id,
        "team_id": filters.team_id,
        "failure_mode_id": filters.failure_mode_id,
    }
    rows = rows.filter(**{k: v for k, v in exact.items() if v is not None})
    if filters.open is not None:
        rows = rows.open() if filters.open else rows.filter(status=Case.Status.CLOSED)
    if filters.breached is not None:
        rows = rows.breached() if filters.breached else rows.filter(breach_count=0)
    items, next_cursor = cursor_page(
        rows, cursor=filters.cursor, limit=filters.limit, order_field="created_at", descending=True
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/{case_id}", response={200: CaseDetailOut, **ERRORS}, summary="Read a case with its timers"
)
def get_case(request: HttpRequest, case_id: int) -> Case:
    require_scope(request, "cases:read")
    return _detail(case_id)


@router.patch(
    "/{case_id}", response={200: CaseDetailOut, **ERRORS}, summary="Edit or assign a case"
)
def update_case(request: HttpRequest, case_id: int, payload: CasePatch) -> Case:
    actor = act(request, "cases:write")
    case = _case(case_id)
    changes = payload.dict(exclude_unset=True)
    assign = {k: changes.pop(k) for k in ("assignee_id", "team_id") if k in changes}
    if "site" in changes:
        changes["site"] = _site(changes["site"])
    if "failure_mode_id" in changes:
        changes["failure_mode"] = by_id(
            FailureMode, changes.pop("failure_mode_id"), "failure_mode_id", "failure mode"
        )
    if changes:
        case = services.case_update(case=case, actor=actor, **changes)
    if assign:
        assignee = (
            by_id(User, assign.get("assignee_id"), "assignee_id", "user")
            if "assignee_id" in assign
            else case.assignee
        )
        team = (
            by_id(Team, assign.get("team_id"), "team_id", "team") if "team_id" in assign else None
        )
        services.case_assign(case=case, actor=actor, assignee=assignee, team=team)
    return _detail(case_id)


def _step(name: str, summary: str) -> Callable[[TCallable], TCallable]:
    return router.post(
        f"/{{case_id}}/{name}", response={200: CaseDetailOut, **ERRORS}, summary=summary
    )


@_step(
    "apologise", "Send the apology (first reply); below the coach threshold it needs an override"
)
def apologise(request: HttpRequest, case_id: int, payload: ApologyIn) -> Case:
    actor = act(request, "cases:write")
    services.case_apologise(
        case=_case(case_id),
        actor=actor,
        body=payload.body,
        subject=payload.subject,
        channel=payload.channel,
        override_reason=payload.override_reason,
    )
    return _detail(case_id)


@_step("review", "Record the customer's view; deciding on their proposal completes the review")
def review(request: HttpRequest, case_id: int, payload: CaseReviewIn) -> Case:
    actor = act(request, "cases:write")
    services.case_review(case=_case(case_id), actor=actor, **payload.dict())
    return _detail(case_id)


@_step("updates", "Send a progress update (restarts the update cadence)")
def send_update(request: HttpRequest, case_id: int, payload: CaseMessageIn) -> Case:
    actor = act(request, "cases:write")
    services.case_send_update(
        case=_case(case_id), actor=actor, body=payload.body, channel=payload.channel
    )
    return _detail(case_id)


@_step("fix", "Mark the problem fixed (starts the cool-off before the follow-up)")
def fix(request: HttpRequest, case_id: int, payload: FixIn) -> Case:
    actor = act(request, "cases:write")
    services.case_mark_fixed(
        case=_case(case_id),
        actor=actor,
        fix_summary=payload.fix_summary,
        message=payload.message,
        channel=payload.channel,
    )
    return _detail(case_id)


@_step("follow-up", "Send the follow-up after the cool-off")
def follow_up(request: HttpRequest, case_id: int, payload: FollowUpIn) -> Case:
    actor = act(request, "cases:write")
    services.case_follow_up(
        case=_case(case_id),
        actor=actor,
        body=payload.body,
        channel=payload.channel,
        early_reason=payload.early_reason,
    )
    return _detail(case_id)


@_step("follow-up/outcome", "Record the follow-up answer; unhappy answers reopen the recovery")
def follow_up_outcome(request: HttpRequest, case_id: int, payload: OutcomeIn) -> Case:
    actor = act(request, "cases:write")
    services.case_record_follow_up(
        case=_case(case_id),
        actor=actor,
        satisfied=payload.satisfied,
        will_return=payload.will_return,
        comment=payload.comment,
        reopen_recovery=payload.reopen_recovery,
    )
    return _detail(case_id)


@_step("document", "Document root cause, what was done and a prevention idea")
def document(request: HttpRequest, case_id: int, payload: DocumentIn) -> Case:
    actor = act(request, "cases:write")
    services.case_document(case=_case(case_id), actor=actor, **payload.dict())
    return _detail(case_id)


@_step("close", "Close a documented case")
def close(request: HttpRequest, case_id: int) -> Case:
    actor = act(request, "cases:write")
    services.case_close(case=_case(case_id), actor=actor)
    return _detail(case_id)


@_step("reopen", "Reopen a closed case, with a reason")
def reopen(request: HttpRequest, case_id: int, payload: CaseReasonIn) -> Case:
    actor = act(request, "cases:write")
    services.case_reopen(case=_case(case_id), actor=actor, reason=payload.reason)
    return _detail(case_id)


@_step("wait", "Wait on the customer (pauses every timer)")
def wait(request: HttpRequest, case_id: int, payload: CaseReasonIn) -> Case:
    actor = act(request, "cases:write")
    services.case_wait_on_customer(case=_case(case_id), actor=actor, reason=payload.reason)
    return _detail(case_id)


@_step("resume", "The customer answered: resume the timers")
def resume(request: HttpRequest, case_id: int) -> Case:
    actor = act(request, "cases:write")
    services.case_resume(case=_case(case_id), actor=actor)
    return _detail(case_id)


class CustomerMessageIn(Schema):
    body: str
    channel: str | None = Field(None, description="Defaults to the case's channel")
    subject: str = ""
    occurred_at: datetime | None = None


@_step("customer-messages", "Record what the customer said; a waiting case resumes")
def customer_message(request: HttpRequest, case_id: int, payload: CustomerMessageIn) -> Case:
    actor = act(request, "cases:write")
    services.case_log_customer_message(
        case=_case(case_id),
        actor=actor,
        body=payload.body,
        channel=payload.channel,
        subject=payload.subject,
        occurred_at=payload.occurred_at,
    )
    return _detail(case_id)


class CallIn(Schema):
    direction: str = Field(description="inbound (they called us) or outbound (we called them)")
    body: str = Field(description="What was said")
    minutes_long: int | None = Field(None, description="How long the call took, in minutes")
    occurred_at: datetime | None = None


@_step("calls", "Log a phone call about the case; a call from the customer resumes a waiting case")
def call(request: HttpRequest, case_id: int, payload: CallIn) -> Case:
    actor = act(request, "cases:write")
    services.case_log_call(
        case=_case(case_id),
        actor=actor,
        direction=payload.direction,
        body=payload.body,
        minutes_long=payload.minutes_long,
        occurred_at=payload.occurred_at,
    )
    return _detail(case_id)


@router.post("/{case_id}/links", response={201: LinkOut, **ERRORS}, summary="Link two cases")
def link(request: HttpRequest, case_id: int, payload: LinkIn) -> Status[CaseLink]:
    actor = act(request, "cases:write")
    other = by_id(Case, payload.other_case_id, "other_case_id", "case")
    made = services.case_link(case=_case(case_id), other=other, actor=actor, kind=payload.kind)
    return Status(201, made)


class CaseNoteIn(Schema):
    body: str = Field(
        ..., description="The note; @username notifies that colleague. Never sent to the customer."
    )


class CaseNoteOut(Schema):
    id: int = Field(..., description="The timeline event's id")
    at: datetime
    body: str
    mentions: list[str] = Field(..., description="Usernames of the colleagues notified")
    actor: str


@router.post(
    "/{case_id}/notes",
    response={201: CaseNoteOut, **ERRORS},
    summary="Add an internal note (staff only); @mentions notify colleagues",
)
def add_note(request: HttpRequest, case_id: int, payload: CaseNoteIn) -> Status[dict[str, Any]]:
    actor = act(request, "cases:write")
    event = services.case_note_add(case=_case(case_id), actor=actor, body=payload.body)
    event.refresh_from_db()
    return Status(
        201,
        {
            "id": event.pk,
            "at": event.at,
            "body": event.data["body"],
            "mentions": event.data["mentions"],
            "actor": event.actor_label,
        },
    )


@router.get(
    "/{case_id}/timers", response={200: list[TimerOut], **ERRORS}, summary="A case's timers"
)
def timers(request: HttpRequest, case_id: int) -> list[Any]:
    require_scope(request, "cases:read")
    return [t.__dict__ for t in case_timers(case=_case(case_id))]


@router.get(
    "/{case_id}/timeline",
    response={200: list[CaseEventOut], **ERRORS},
    summary="Every event of the case, oldest first (audit trail)",
)
def timeline(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    require_scope(request, "cases:read")
    rows = []
    for event in case_events(case=_case(case_id)):
        interaction = event.interaction
        rows.append(
            {
                "id": event.pk,
                "at": event.at,
                "kind": event.kind,
                "summary": event.summary,
                "actor": event.actor_label,
                "token": token_ref(event.token),
                "data": event.data,
                "message": interaction.body if interaction else None,
                "channel": interaction.channel if interaction else None,
                "direction": interaction.direction if interaction else None,
            }
        )
    return rows


@router.get(
    "/{case_id}/similar",
    response={200: list[SimilarCaseOut], **ERRORS},
    summary="The five past cases most like this one: what was done and how it ended",
)
def similar(request: HttpRequest, case_id: int) -> list[dict[str, object]]:
    require_scope(request, "cases:read")
    return [similar_out(found) for found in similar_cases(case=_case(case_id))]


@router.get(
    "/{case_id}/duplicates",
    response={200: list[DuplicateOut], **ERRORS},
    summary="Cases this one probably repeats (same text, or an open case of the customer alike)",
)
def duplicates(request: HttpRequest, case_id: int) -> list[dict[str, object]]:
    require_scope(request, "cases:read")
    return [duplicate_out(found) for found in duplicate_candidates(case=_case(case_id))]


class MergeIn(Schema):
    into_case_id: int = Field(..., description="The case that stays open and takes this one in")
    tell_customer: bool = Field(True, description="Send the customer one message saying so")
    channel: str | None = Field(
        None, description="Where to tell them; default: where they last wrote"
    )


@router.post(
    "/{case_id}/merge",
    response={200: CaseDetailOut, **ERRORS},
    summary="Merge this duplicate into another open case of the customer; answers that case",
)
def merge(request: HttpRequest, case_id: int, payload: MergeIn) -> Case:
    actor = act(request, "cases:write")
    into = by_id(Case, payload.into_case_id, "into_case_id", "case")
    kept = services.case_merge(
        case=_case(case_id),
        into=into,
        actor=actor,
        tell_customer=payload.tell_customer,
        channel=payload.channel,
    )
    return _detail(kept.pk)


@router.post(
    "/{case_id}/split",
    response={200: CaseDetailOut, **ERRORS},
    summary="Split a merged case back out: its status and timers return",
)
def split(request: HttpRequest, case_id: int) -> Case:
    actor = act(request, "cases:write")
    return _detail(services.case_split(case=_case(case_id), actor=actor).pk)


@coach_router.post(
    "/score",
    response={200: CoachOut, **ERRORS},
    summary="Score a draft apology: the score, each finding with its sentence, a suggested rewrite",
)
def coach(request: HttpRequest, payload: CoachIn) -> dict[str, Any]:
    require_scope(request, "cases:read")
    if payload.case_id is not None:
        result = services.case_coach(
            case=_case(payload.case_id), text=payload.text, language=payload.language
        )
    else:
        result = coach_score(text=payload.text, language=payload.language)
    return coach_out(result)
