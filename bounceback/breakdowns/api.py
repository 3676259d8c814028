"""The breakdowns API: declare, preview, run the outreach, update, all-clear, review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status
from ninja.types import TCallable

from bounceback.accounts.models import User
from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act, by_id
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, ApiTokenRefOut, Schema, token_ref
from bounceback.breakdowns import selectors, services
from bounceback.breakdowns.models import (
    AffectedCustomer,
    Breakdown,
    BreakdownAction,
    BreakdownEvent,
    BreakdownReview,
    ReviewActionItem,
)
from bounceback.errors import Forbidden, NotFound
from bounceback.playbooks.models import Playbook
from bounceback.sites.models import Site

router = Router(tags=["breakdowns"])


# --- Schemas -----------------------------------------------------------------------------


class BreakdownIn(Schema):
    playbook_id: int
    title: str = Field(..., max_length=200)
    description: str = ""
    severity: str = "high"
    site: str | None = Field(None, description="Site code")
    window_start: datetime
    window_end: datetime | None = None
    product: str = ""
    transaction_filter: dict[str, Any] | None = Field(
        None,
        description='{"kind": [...], "status": [...], "attributes": {"route": "north"}}',
    )
    customer_ids: list[int] | None = None


class ScopeIn(Schema):
    site: str | None = Field(None, description="Site code; send null to drop the site")
    window_start: datetime | None = None
    window_end: datetime | None = None
    product: str | None = None
    transaction_filter: dict[str, Any] | None = None
    customer_ids: list[int] | None = None


class ActionOut(Schema):
    id: int
    position: int
    title: str
    details: str
    owner_role: str
    target_minutes: int
    state: str
    due_at: datetime
    done_at: datetime | None
    done_by_id: int | None
    note: str


class MessageOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    batch: str
    recipients: int
    sent_at: datetime
    state: str = Field(
        description="sending: a wave to many customers is still being written in chunks "
        "(recipients is final once sent); sent"
    )
    finished_at: datetime | None = Field(
        None, description="when the last case got the message (empty while sending)"
    )


class ProgressOut(Schema):
    affected: int
    to_contact: int
    queued: int
    sent: int
    pending: int
    held: int
    failed: int
    unreachable: int
    linked: int
    excluded: int
    percent_reached: int
    done: bool


class BreakdownOut(Schema):
    id: int
    reference: str
    title: str
    description: str
    status: str
    severity: str
    source: str
    playbook_id: int
    playbook_name: str
    playbook_version: int
    site: str | None
    window_start: datetime
    window_end: datetime | None
    product: str
    transaction_filter: dict[str, Any]
    affected_count: int
    outreach_paused: bool
    declared_at: datetime
    declared_by_id: int | None
    confirmed_at: datetime | None
    all_clear_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None

    @staticmethod
    def resolve_playbook_id(obj: Breakdown) -> int:
        return obj.playbook_version.playbook_id

    @staticmethod
    def resolve_playbook_name(obj: Breakdown) -> str:
        return obj.playbook_version.playbook.name

    @staticmethod
    def resolve_playbook_version(obj: Breakdown) -> int:
        return obj.playbook_version.number

    @staticmethod
    def resolve_site(obj: Breakdown) -> str | None:
        return obj.site.code if obj.site_id and obj.site else None


class BreakdownDetailOut(BreakdownOut):
    checklist: list[ActionOut]
    messages: list[MessageOut]
    progress: ProgressOut


class BreakdownPage(Schema):
    items: list[BreakdownOut]
    next_cursor: str | None


class BreakdownFilters(Schema):
    status: str | None = None
    cursor: str | None = None
    limit: int = 50


class AffectedOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    transaction_id: int | None
    state: str
    channel: str
    language: str
    case_id: int | None
    case_reference: str | None
    message_id: int | None
    message_state: str | None
    contacted_at: datetime | None

    @staticmethod
    def resolve_customer_name(obj: AffectedCustomer) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_case_reference(obj: AffectedCustomer) -> str | None:
        return obj.case.reference if obj.case_id and obj.case else None

    @staticmethod
    def resolve_message_state(obj: AffectedCustomer) -> str | None:
        return obj.message.state if obj.message_id and obj.message else None


class AffectedPage(Schema):
    items: list[AffectedOut]
    next_cursor: str | None


class AffectedFilters(Schema):
    state: str | None = None
    cursor: str | None = None
    limit: int = 50


class BreakdownPreviewOut(Schema):
    total: int
    to_contact: int
    by_state: dict[str, int]
    by_channel: dict[str, int]
    unreachable: int
    linked: int
    excluded: int
    sample: list[AffectedOut]
    preview_subject: str
    preview_body: str


class BreakdownEventOut(Schema):
    id: int
    at: datetime
    kind: str
    summary: str
    actor: str
    token: ApiTokenRefOut | None = Field(
        None, description="The API token another system acted through, when one did"
    )
    data: dict[str, Any]

    @staticmethod
    def resolve_actor(obj: BreakdownEvent) -> str:
        return obj.actor_label

    @staticmethod
    def resolve_token(obj: BreakdownEvent) -> dict[str, Any] | None:
        return token_ref(obj.token)


class BreakdownMessageIn(Schema):
    body: str
    subject: str = ""


class BreakdownCancelIn(Schema):
    reason: str


class NoteIn(Schema):
    note: str = ""


class BreakdownReviewIn(Schema):
    went_well: str = ""
    went_badly: str = ""
    actual_cost: Decimal | None = None
    cost_currency: str | None = None
    complete: bool = False


class ActionItemIn(Schema):
    kind: str = "other"
    text: str
    owner_id: int | None = None
    playbook_id: int | None = None


class ActionItemOut(Schema):
    id: int
    kind: str
    text: str
    owner_id: int | None
    done: bool
    failure_mode_id: int | None
    playbook_id: int | None
    created_at: datetime


class FiguresOut(Schema):
    affected: int
    reached: int
    failed: int
    unreachable: int
    replies: int
    complaints_anyway: int
    updates_sent: int
    minutes_to_outreach: int | None
    minutes_to_all_clear: int | None
    estimated_cost: Decimal
    cost_currency: str
    actual_cost: Decimal | None
    actual_cost_currency: str


class ReviewOut(Schema):
    went_well: str
    went_badly: str
    actual_cost: Decimal | None
    cost_currency: str
    completed_at: datetime | None
    completed_by_id: int | None
    figures: FiguresOut
    action_items: list[ActionItemOut]


class ActionItemFailureModeIn(Schema):
    touchpoint_id: int
    title: str
    severity: int
    occurrence: int
    detection: int
    description: str = ""


class ActionItemFailureModeOut(Schema):
    id: int
    title: str
    status: str


# --- Helpers --------------------------------------------------------------------------------


def _breakdown(breakdown_id: int) -> Breakdown:
    return get_object_or_404(
        Breakdown.objects.select_related("site", "playbook_version__playbook"), pk=breakdown_id
    )


def _detail(breakdown_id: int) -> Breakdown:
    breakdown = _breakdown(breakdown_id)
    breakdown.checklist = list(breakdown.actions.order_by("position", "id"))  # type: ignore[attr-defined]
    breakdown.progress = selectors.breakdown_progress(breakdown=breakdown).__dict__  # type: ignore[attr-defined]
    return breakdown


def _site(code: str | None) -> Site | None:
    if not code:
        return None
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site with code {code!r}", field="site")
    return site


def _review_out(breakdown: Breakdown) -> dict[str, Any]:
    review = BreakdownReview.objects.filter(breakdown=breakdown).first()
    figures = selectors.breakdown_review_figures(breakdown=breakdown)
    items = list(review.action_items.order_by("id")) if review else []
    return {
        "went_well": review.went_well if review else "",
        "went_badly": review.went_badly if review else "",
        "actual_cost": review.actual_cost if review else None,
        "cost_currency": review.cost_currency if review else figures.cost_currency,
        "completed_at": review.completed_at if review else None,
        "completed_by_id": review.completed_by_id if review else None,
        "figures": figures.__dict__,
        "action_items": items,
    }


# --- Endpoints ------------------------------------------------------------------------------


@router.get("/", response={200: BreakdownPage, **ERRORS}, summary="List breakdowns, newest first")
def list_breakdowns(request: HttpRequest, filters: Query[BreakdownFilters]) -> dict[str, Any]:
    require_scope(request, "breakdowns:read")
    rows = selectors.breakdown_list(status=filters.status)
    return page_answer(rows, filters, order_field="declared_at", descending=True)


@router.post(
    "/",
    response={201: BreakdownDetailOut, **ERRORS},
    summary="Declare a breakdown: checklist started, affected customers found, nothing sent",
)
def declare(request: HttpRequest, payload: BreakdownIn) -> Status[Breakdown]:
    actor = act(request, "breakdowns:write")
    playbook = by_id(Playbook, payload.playbook_id, "playbook_id", "playbook")
    breakdown = services.breakdown_declare(
        actor=actor,
        playbook=playbook,
        title=payload.title,
        description=payload.description,
        severity=payload.severity,
        site=_site(payload.site),
        window_start=payload.window_start,
        window_end=payload.window_end,
        product=payload.product,
        transaction_filter=payload.transaction_filter,
        customer_ids=payload.customer_ids,
    )
    return Status(201, _detail(breakdown.pk))


@router.get(
    "/{breakdown_id}",
    response={200: BreakdownDetailOut, **ERRORS},
    summary="Read a breakdown with its checklist, messages and outreach progress",
)
def get_breakdown(request: HttpRequest, breakdown_id: int) -> Breakdown:
    require_scope(request, "breakdowns:read")
    return _detail(breakdown_id)


@router.get(
    "/{breakdown_id}/preview",
    response={200: BreakdownPreviewOut, **ERRORS},
    summary="Who would be contacted, how, and the first message (sends nothing)",
)
def preview(request: HttpRequest, breakdown_id: int, sample: int = 20) -> dict[str, Any]:
    require_scope(request, "breakdowns:read")
    sample = max(0, min(sample, 100))
    result = selectors.breakdown_preview(breakdown=_breakdown(breakdown_id), sample=sample)
    return result.__dict__


@router.post(
    "/{breakdown_id}/scope",
    response={200: BreakdownDetailOut, **ERRORS},
    summary="Change the scope before outreach; affected customers are found afresh",
)
def rescope(request: HttpRequest, breakdown_id: int, payload: ScopeIn) -> Breakdown:
    actor = act(request, "breakdowns:write")
    changes = payload.dict(exclude_unset=True)
    if "site" in changes:
        changes["site"] = _site(changes["site"])
    if "product" in changes and changes["product"] is None:
        changes["product"] = ""
    services.breakdown_rescope(breakdown=_breakdown(breakdown_id), actor=actor, **changes)
    return _detail(breakdown_id)


def _step(name: str, summary: str) -> Callable[[TCallable], TCallable]:
    return router.post(
        f"/{{breakdown_id}}/{name}", response={200: BreakdownDetailOut, **ERRORS}, summary=summary
    )


@_step("confirm", "Confirm the outreach: every affected customer is contacted, in chunks")
def confirm(request: HttpRequest, breakdown_id: int) -> Breakdown:
    actor = act(request, "breakdowns:write")
    services.breakdown_confirm_outreach(breakdown=_breakdown(breakdown_id), actor=actor)
    return _detail(breakdown_id)


@_step("pause", "Pause the outreach: messages not yet sent are held")
def pause(request: HttpRequest, breakdown_id: int) -> Breakdown:
    actor = act(request, "breakdowns:write")
    services.breakdown_pause_outreach(breakdown=_breakdown(breakdown_id), actor=actor)
    return _detail(breakdown_id)


@_step("resume", "Resume the outreach: held messages go out at the channel's rate")
def resume(request: HttpRequest, breakdown_id: int) -> Breakdown:
    actor = act(request, "breakdowns:write")
    services.breakdown_resume_outreach(breakdown=_breakdown(breakdown_id), actor=actor)
    return _detail(breakdown_id)


@router.post(
    "/{breakdown_id}/updates",
    response={201: MessageOut, **ERRORS},
    summary="Send a status update to every customer with a case on the breakdown",
)
def post_update(
    request: HttpRequest, breakdown_id: int, payload: BreakdownMessageIn
) -> Status[Any]:
    actor = act(request, "breakdowns:write")
    message = services.breakdown_post_update(
        breakdown=_breakdown(breakdown_id),
        actor=actor,
        body=payload.body,
        subject=payload.subject,
    )
    return Status(201, message)


@_step("all-clear", "Give the all-clear: tell everyone, close the checklist, cases to follow-up")
def all_clear(request: HttpRequest, breakdown_id: int, payload: BreakdownMessageIn) -> Breakdown:
    actor = act(request, "breakdowns:write")
    services.breakdown_all_clear(
        breakdown=_breakdown(breakdown_id),
        actor=actor,
        body=payload.body,
        subject=payload.subject,
    )
    return _detail(breakdown_id)


@_step("cancel", "Cancel a false alarm before any customer was contacted")
def cancel(request: HttpRequest, breakdown_id: int, payload: BreakdownCancelIn) -> Breakdown:
    actor = act(request, "breakdowns:write")
    services.breakdown_cancel(
        breakdown=_breakdown(breakdown_id), actor=actor, reason=payload.reason
    )
    return _detail(breakdown_id)


@router.get(
    "/{breakdown_id}/affected",
    response={200: AffectedPage, **ERRORS},
    summary="The affected customers and where each one's outreach is",
)
def affected(
    request: HttpRequest, breakdown_id: int, filters: Query[AffectedFilters]
) -> dict[str, Any]:
    require_scope(request, "breakdowns:read")
    items, next_cursor = selectors.affected_page(
        breakdown=_breakdown(breakdown_id),
        state=filters.state,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/{breakdown_id}/timeline",
    response={200: list[BreakdownEventOut], **ERRORS},
    summary="What happened, when and by whom",
)
def timeline(request: HttpRequest, breakdown_id: int) -> list[Any]:
    require_scope(request, "breakdowns:read")
    return selectors.breakdown_timeline(breakdown=_breakdown(breakdown_id))


@router.post(
    "/{breakdown_id}/actions/{action_id}/complete",
    response={200: ActionOut, **ERRORS},
    summary="Tick off a checklist action",
)
def complete_action(
    request: HttpRequest, breakdown_id: int, action_id: int, payload: NoteIn
) -> BreakdownAction:
    actor = act(request, "breakdowns:read")
    # Anyone on the team ticks the checklist; a token needs breakdowns:write.
    if not actor.may("breakdowns.work_breakdown"):
        raise Forbidden("your role may not tick off checklist actions", code="missing_permission")
    if not actor.is_person:
        require_scope(request, "breakdowns:write")
    action = get_object_or_404(BreakdownAction, pk=action_id, breakdown_id=breakdown_id)
    return services.breakdown_action_complete(action=action, actor=actor, note=payload.note)


@router.get(
    "/{breakdown_id}/review",
    response={200: ReviewOut, **ERRORS},
    summary="The post-incident review: figures, lessons and action items",
)
def get_review(request: HttpRequest, breakdown_id: int) -> dict[str, Any]:
    require_scope(request, "breakdowns:read")
    return _review_out(_breakdown(breakdown_id))


@router.put(
    "/{breakdown_id}/review",
    response={200: ReviewOut, **ERRORS},
    summary="Write the review; complete=true closes the breakdown",
)
def put_review(
    request: HttpRequest, breakdown_id: int, payload: BreakdownReviewIn
) -> dict[str, Any]:
    actor = act(request, "breakdowns:write")
    breakdown = _breakdown(breakdown_id)
    services.breakdown_review_save(
        breakdown=breakdown,
        actor=actor,
        went_well=payload.went_well,
        went_badly=payload.went_badly,
        actual_cost=payload.actual_cost,
        cost_currency=payload.cost_currency,
        complete=payload.complete,
    )
    return _review_out(_breakdown(breakdown_id))


@router.post(
    "/{breakdown_id}/review/action-items",
    response={201: ActionItemOut, **ERRORS},
    summary="Add an action item to the review",
)
def add_action_item(
    request: HttpRequest, breakdown_id: int, payload: ActionItemIn
) -> Status[ReviewActionItem]:
    actor = act(request, "breakdowns:write")
    item = services.review_action_item_add(
        breakdown=_breakdown(breakdown_id),
        actor=actor,
        kind=payload.kind,
        text=payload.text,
        owner=by_id(User, payload.owner_id, "owner_id", "user"),
        playbook=by_id(Playbook, payload.playbook_id, "playbook_id", "playbook"),
    )
    return Status(201, item)


@router.post(
    "/{breakdown_id}/review/action-items/{item_id}/failure-mode",
    response={201: ActionItemFailureModeOut, **ERRORS},
    summary="Propose an action item as a new failure mode in the catalog",
)
def item_to_failure_mode(
    request: HttpRequest, breakdown_id: int, item_id: int, payload: ActionItemFailureModeIn
) -> Status[Any]:
    require_scope(request, "breakdowns:write")
    actor = act(request, "catalog:write")
    from bounceback.failuremodes.models import Touchpoint

    item = get_object_or_404(ReviewActionItem, pk=item_id, review__breakdown_id=breakdown_id)
    mode = services.review_action_item_to_failure_mode(
        item=item,
        actor=actor,
        touchpoint=by_id(Touchpoint, payload.touchpoint_id, "touchpoint_id", "touchpoint"),
        title=payload.title,
        severity=payload.severity,
        occurrence=payload.occurrence,
        detection=payload.detection,
        description=payload.description,
    )
    return Status(201, mode)
