from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, PatchSchema, Schema
from bounceback.coach.schemas import CoachOut, FindingOut, coach_out
from bounceback.customers.models import Customer
from bounceback.errors import NotFound
from bounceback.failuremodes.models import FailureMode
from bounceback.playbooks import selectors, services
from bounceback.playbooks.models import Playbook, PlaybookVersion

router = Router(tags=["playbooks"])


# --- Schemas -----------------------------------------------------------------------------


class ActionSchema(Schema):
    title: str
    details: str = ""
    owner_role: str = Field(..., description="agent, lead, manager, executive or admin")
    target_minutes: int = Field(..., description="Minutes from the declaration to have it done")


class TemplateIn(Schema):
    purpose: str = Field(
        ..., description="apology, explanation, alternatives, status_update or all_clear"
    )
    channel: str = "email"
    language: str = "en"
    subject: str = ""
    body: str = Field(..., description="Placeholders like {{ customer.first_name }} are filled")


class TemplateOut(TemplateIn):
    coach_score: int | None = Field(None, description="The apology coach's score, apologies only")
    coach_findings: list[FindingOut]


class CompensationIn(Schema):
    segment: str = Field("all", description="A segment's slug, 'all' for everyone")
    kind: str
    amount: Decimal
    currency: str
    description: str = ""


# Its own class: a Decimal reads as a number or a string but is written as a
# string, so one class would give requests and answers one (wrong) schema.
class CompensationOut(CompensationIn):
    pass


class ContactSchema(Schema):
    name: str
    role: str = ""
    phone: str = ""
    email: str = ""


class ContentIn(Schema):
    applies_when: str
    backup_resources: str = ""
    escalation_contacts: list[ContactSchema] = []
    actions: list[ActionSchema]
    templates: list[TemplateIn] = []
    compensations: list[CompensationIn] = []
    change_note: str = ""
    coach_override_reason: str = Field(
        "", description="Required to save templates the apology coach scores below the threshold"
    )


class PlaybookIn(ContentIn):
    name: str
    failure_mode_id: int | None = None
    breakdown_type: str = ""


class PlaybookPatch(PatchSchema):
    nullable = frozenset({"failure_mode_id", "breakdown_type"})

    name: str | None = None
    failure_mode_id: int | None = None
    breakdown_type: str | None = None


class ArchiveIn(Schema):
    archived: bool = Field(True, description="False restores an archived playbook")


class VersionSummaryOut(Schema):
    number: int
    change_note: str
    coach_override_reason: str
    created_at: datetime
    created_by: str | None

    @staticmethod
    def resolve_created_by(obj: PlaybookVersion) -> str | None:
        return str(obj.created_by) if obj.created_by_id and obj.created_by else None


class VersionOut(VersionSummaryOut):
    applies_when: str
    backup_resources: str
    escalation_contacts: list[ContactSchema]
    actions: list[ActionSchema]
    templates: list[TemplateOut]
    compensations: list[CompensationOut]

    @staticmethod
    def resolve_actions(obj: PlaybookVersion) -> list[Any]:
        return list(obj.actions.all())

    @staticmethod
    def resolve_templates(obj: PlaybookVersion) -> list[Any]:
        return list(obj.templates.all())

    @staticmethod
    def resolve_compensations(obj: PlaybookVersion) -> list[Any]:
        return list(obj.compensations.all())


class PlaybookOut(Schema):
    id: int
    name: str
    failure_mode_id: int | None
    failure_mode_title: str | None
    breakdown_type: str
    archived: bool
    current_version: int | None
    version_count: int
    action_count: int
    template_count: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_failure_mode_title(obj: Playbook) -> str | None:
        return obj.failure_mode.title if obj.failure_mode_id and obj.failure_mode else None

    @staticmethod
    def resolve_current_version(obj: Playbook) -> int | None:
        return obj.current.number if obj.current_id and obj.current else None


class PlaybookDetailOut(PlaybookOut):
    current: VersionOut | None


class PlaybookPage(Schema):
    items: list[PlaybookOut]
    next_cursor: str | None


class PlaybookFilters(Schema):
    failure_mode_id: int | None = None
    breakdown_type: str | None = None
    archived: bool = Field(False, description="Include archived playbooks")
    cursor: str | None = None
    limit: int = 50


class PlaybookPreviewIn(Schema):
    purpose: str
    body: str
    subject: str = ""
    language: str = "en"
    explanation: str = Field("", description="For an apology: the explanation that follows it")
    alternatives: str = Field("", description="For an apology: the alternatives that follow it")
    playbook_id: int | None = Field(None, description="Name the breakdown after its failure")
    customer_id: int | None = Field(None, description="Fill the customer fields from them")


class PlaybookPreviewOut(Schema):
    subject: str
    body: str
    problems: list[str] = Field(..., description="Unknown placeholders")
    coach: CoachOut | None = Field(
        None,
        description="The apology coach on the first message, for apologies in a language it "
        "reads; its rewrite is the suggested apology template, placeholders kept",
    )
    findings: list[FindingOut]


# --- Helpers -----------------------------------------------------------------------------


def _playbook(playbook_id: int) -> Playbook:
    return get_object_or_404(
        Playbook.objects.select_related("failure_mode", "current"), pk=playbook_id
    )


def _detail(playbook_id: int) -> Playbook:
    row = selectors.playbook_list(include_archived=True).filter(pk=playbook_id).first()
    if row is None:
        raise NotFound(f"no playbook with id {playbook_id}")
    row.current = (  # type: ignore[assignment]
        selectors.playbook_version_full(playbook=row) if row.current_id else None
    )
    return row


def _failure_mode(pk: int | None) -> FailureMode | None:
    if pk is None:
        return None
    row = FailureMode.objects.filter(pk=pk).first()
    if row is None:
        raise NotFound(f"no failure mode with id {pk}", field="failure_mode_id")
    return row


def _content(payload: ContentIn) -> services.PlaybookContent:
    data = payload.dict(
        include={
            "applies_when",
            "backup_resources",
            "escalation_contacts",
            "actions",
            "templates",
            "compensations",
            "change_note",
            "coach_override_reason",
        }
    )
    return services.PlaybookContent.from_data(data)


# --- Endpoints ---------------------------------------------------------------------------


@router.get("/", response={200: PlaybookPage, **ERRORS}, summary="List playbooks by name")
def list_playbooks(request: HttpRequest, filters: Query[PlaybookFilters]) -> dict[str, Any]:
    require_scope(request, "playbooks:read")
    rows = selectors.playbook_list(include_archived=filters.archived)
    if filters.failure_mode_id is not None:
        rows = rows.filter(failure_mode_id=filters.failure_mode_id)
    if filters.breakdown_type:
        rows = rows.filter(breakdown_type__iexact=filters.breakdown_type)
    return page_answer(rows, filters, order_field="name", descending=False)


@router.post(
    "/",
    response={201: PlaybookDetailOut, **ERRORS},
    summary="Create a playbook; its content becomes version 1",
)
def create_playbook(request: HttpRequest, payload: PlaybookIn) -> Status[Playbook]:
    actor = act(request, "playbooks:write")
    playbook = services.playbook_create(
        actor=actor,
        name=payload.name,
        failure_mode=_failure_mode(payload.failure_mode_id),
        breakdown_type=payload.breakdown_type,
        content=_content(payload),
    )
    return Status(201, _detail(playbook.pk))


@router.post(
    "/preview",
    response={200: PlaybookPreviewOut, **ERRORS},
    summary="Render a template with sample values and score it with the apology coach",
)
def preview(request: HttpRequest, payload: PlaybookPreviewIn) -> dict[str, Any]:
    require_scope(request, "playbooks:read")
    title = ""
    if payload.playbook_id is not None:
        playbook = Playbook.objects.select_related("failure_mode").filter(pk=payload.playbook_id)
        row = playbook.first()
        if row is None:
            raise NotFound(f"no playbook with id {payload.playbook_id}", field="playbook_id")
        title = row.failure_mode.title if row.failure_mode else row.breakdown_type
    customer = None
    if payload.customer_id is not None:
        require_scope(request, "customers:read")
        customer = Customer.objects.filter(pk=payload.customer_id).first()
        if customer is None:
            raise NotFound(f"no customer with id {payload.customer_id}", field="customer_id")
    result = selectors.template_preview(
        purpose=payload.purpose,
        body=payload.body,
        subject=payload.subject,
        language=payload.language,
        explanation=payload.explanation,
        alternatives=payload.alternatives,
        title=title,
        customer=customer,
    )
    coach = result.coach
    return {
        "subject": result.subject,
        "body": result.body,
        "problems": result.problems or [],
        "coach": None if coach is None else coach_out(coach),
        "findings": [asdict(f) for f in result.findings],
    }


@router.get(
    "/{playbook_id}",
    response={200: PlaybookDetailOut, **ERRORS},
    summary="A playbook with its current version in full",
)
def get_playbook(request: HttpRequest, playbook_id: int) -> Playbook:
    require_scope(request, "playbooks:read")
    return _detail(playbook_id)


@router.patch(
    "/{playbook_id}",
    response={200: PlaybookDetailOut, **ERRORS},
    summary="Rename it or change what it answers (not versioned)",
)
def update_playbook(request: HttpRequest, playbook_id: int, payload: PlaybookPatch) -> Playbook:
    actor = act(request, "playbooks:write")
    changes = payload.dict(exclude_unset=True)
    kwargs: dict[str, Any] = {}
    if "name" in changes:
        kwargs["name"] = changes["name"] if changes["name"] is not None else ""
    if "failure_mode_id" in changes:
        kwargs["failure_mode"] = _failure_mode(changes["failure_mode_id"])
    if "breakdown_type" in changes:
        kwargs["breakdown_type"] = changes["breakdown_type"] or ""
    services.playbook_update_details(playbook=_playbook(playbook_id), actor=actor, **kwargs)
    return _detail(playbook_id)


@router.get(
    "/{playbook_id}/versions",
    response={200: list[VersionSummaryOut], **ERRORS},
    summary="Every version, newest first",
)
def list_versions(request: HttpRequest, playbook_id: int) -> list[PlaybookVersion]:
    require_scope(request, "playbooks:read")
    playbook = _playbook(playbook_id)
    return list(playbook.versions.select_related("created_by").order_by("-number"))


@router.get(
    "/{playbook_id}/versions/{number}",
    response={200: VersionOut, **ERRORS},
    summary="One version in full, as it was written",
)
def get_version(request: HttpRequest, playbook_id: int, number: int) -> PlaybookVersion:
    require_scope(request, "playbooks:read")
    return selectors.playbook_version_full(playbook=_playbook(playbook_id), number=number)


@router.post(
    "/{playbook_id}/versions",
    response={201: VersionOut, **ERRORS},
    summary="Revise: the content becomes a new current version; older versions are kept",
)
def revise(request: HttpRequest, playbook_id: int, payload: ContentIn) -> Status[PlaybookVersion]:
    actor = act(request, "playbooks:write")
    playbook = _playbook(playbook_id)
    version = services.playbook_revise(playbook=playbook, actor=actor, content=_content(payload))
    return Status(201, selectors.playbook_version_full(playbook=playbook, number=version.number))


@router.post(
    "/{playbook_id}/archive",
    response={200: PlaybookDetailOut, **ERRORS},
    summary="Archive (or restore) a playbook; running breakdowns keep their version",
)
def archive(request: HttpRequest, playbook_id: int, payload: ArchiveIn) -> Playbook:
    actor = act(request, "playbooks:write")
    services.playbook_archive(
        playbook=_playbook(playbook_id), actor=actor, archived=payload.archived
    )
    return _detail(playbook_id)
