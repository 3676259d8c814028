"""The recovery stories API, mounted at /api/stories.

stories:read reads stories and recognition counts; stories:write drafts, edits,
nominates, publishes and recognises. Publishing and recognising also need a
lead's or manager's permission when a signed-in person calls (the services
check it); a token with stories:write may, as it acts for the integration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from bounceback.accounts.models import User
from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act, by_id
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, PageFilters, PatchSchema, Schema
from bounceback.cases.models import Case
from bounceback.errors import NotFound, ValidationFailed
from bounceback.failuremodes.models import Touchpoint
from bounceback.stories import selectors, services
from bounceback.stories.models import Recognition, Story

router = Router(tags=["stories"])


# --- Schemas ----------------------------------------------------------------------------------


class StoryDraftIn(Schema):
    case_id: int = Field(..., description="A closed case whose customer was satisfied")
    customer_named: bool = Field(
        False, description="The customer agreed to be named; otherwise their name is left out"
    )


class StoryPatch(PatchSchema):
    title: str | None = Field(None, max_length=200)
    what_went_wrong: str | None = None
    what_we_did: str | None = None
    gesture: str | None = None
    customer_words: str | None = None
    prevention_idea: str | None = None
    tags: list[str] | None = Field(None, description="Lower-cased; letters, digits, - and _")
    customer_named: bool | None = None


class StoryPersonOut(Schema):
    id: int
    name: str


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": str(user)}


class StoryOut(Schema):
    id: int
    case_id: int
    title: str
    what_went_wrong: str
    what_we_did: str
    gesture: str
    customer_words: str
    prevention_idea: str
    tags: list[str]
    state: str = Field(..., description="draft, nominated or published")
    customer_named: bool
    staff: StoryPersonOut | None = Field(..., description="Who made it right")
    author: StoryPersonOut | None
    nominated_at: datetime | None
    published_at: datetime | None
    proposed_failure_mode_id: int | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_tags(obj: Story) -> list[str]:
        return obj.tag_list

    @staticmethod
    def resolve_staff(obj: Story) -> dict[str, Any] | None:
        return _person(obj.staff)

    @staticmethod
    def resolve_author(obj: Story) -> dict[str, Any] | None:
        return _person(obj.author)


class StoryPage(Schema):
    items: list[StoryOut]
    next_cursor: str | None


class StoryFilters(PageFilters):
    q: str = Field("", description="Text in the title or any part of the story")
    tag: str = Field("", description="Only stories with this tag")
    state: str = Field("", description="draft, nominated or published")


class StoryRecognitionIn(Schema):
    kind: str = Field(..., description="kudos (now) or monthly (the month's recognition)")
    note: str = Field("", max_length=2000)
    person_id: int | None = Field(
        None, description="Whom to recognise; for a story, its staff member when left out"
    )


class StoryRecognitionOut(Schema):
    id: int
    kind: str
    story_id: int | None
    person: StoryPersonOut
    team_id: int | None
    given_by: str
    note: str
    created_at: datetime

    @staticmethod
    def resolve_person(obj: Recognition) -> dict[str, Any] | None:
        return _person(obj.person)

    @staticmethod
    def resolve_given_by(obj: Recognition) -> str:
        return obj.given_by_label


class StoryRecognitionCountOut(Schema):
    id: int | None
    name: str
    kudos: int
    monthly: int
    total: int


class StoryRecognitionCountsOut(Schema):
    people: list[StoryRecognitionCountOut]
    teams: list[StoryRecognitionCountOut]


class StoryRecognitionFilters(Schema):
    period: str = Field("all", description="all (every recognition) or month (this month)")


class StoryPreventionIn(Schema):
    touchpoint_id: int | None = Field(
        None, description="Where it goes wrong; the case's failure mode's touchpoint if left out"
    )
    title: str = Field("", max_length=160, description="The story's title if left out")
    severity: int | None = Field(None, description="1 to 10; the case's failure mode's, or 5")
    occurrence: int | None = Field(None, description="1 to 10; the case's failure mode's, or 5")
    detection: int | None = Field(None, description="1 to 10; the case's failure mode's, or 5")


class StoryPreventionOut(Schema):
    failure_mode_id: int
    title: str
    status: str


# --- Helpers ------------------------------------------------------------------------------------


def _rows() -> Any:
    return Story.objects.select_related("staff", "author")


def _load(pk: int) -> Story:
    row = _rows().filter(pk=pk).first()
    if row is None:
        raise NotFound(f"no story with id {pk}")
    return row


def _recognition(pk: int) -> Recognition:
    return Recognition.objects.select_related("person").get(pk=pk)


# --- Stories ------------------------------------------------------------------------------------


@router.get("", response={200: StoryPage, **ERRORS}, summary="The story library, newest first")
def list_stories(request: HttpRequest, filters: Query[StoryFilters]) -> dict[str, Any]:
    require_scope(request, "stories:read")
    rows = _rows().search(filters.q).tagged(filters.tag)
    if filters.state:
        rows = rows.filter(state=filters.state)
    return page_answer(rows, filters, order_field="created_at", descending=True)


@router.post(
    "",
    response={201: StoryOut, **ERRORS},
    summary="Draft the story of a closed case whose customer was satisfied",
)
def draft_story(request: HttpRequest, payload: StoryDraftIn) -> Status[Story]:
    actor = act(request, "stories:write")
    case = by_id(Case, payload.case_id, "case_id", "case")
    story = services.story_draft_from_case(
        case=case, actor=actor, customer_named=payload.customer_named
    )
    return Status(201, _load(story.pk))


@router.get(
    "/recognition-counts",
    response={200: StoryRecognitionCountsOut, **ERRORS},
    summary="Kudos and monthly recognitions per person and per team",
)
def recognition_counts(
    request: HttpRequest, filters: Query[StoryRecognitionFilters]
) -> dict[str, Any]:
    require_scope(request, "stories:read")
    if filters.period not in selectors.PERIODS:
        raise ValidationFailed("period must be all or month", field="period")
    since = selectors.period_start(filters.period)

    def out(rows: list[selectors.RecognitionCount]) -> list[dict[str, Any]]:
        return [
            {"id": r.id, "name": r.name, "kudos": r.kudos, "monthly": r.monthly, "total": r.total}
            for r in rows
        ]

    return {
        "people": out(selectors.recognition_by_person(since=since)),
        "teams": out(selectors.recognition_by_team(since=since)),
    }


@router.post(
    "/recognitions",
    response={201: StoryRecognitionOut, **ERRORS},
    summary="Recognise a person, not for one story",
)
def recognise_person(request: HttpRequest, payload: StoryRecognitionIn) -> Status[Recognition]:
    actor = act(request, "stories:write")
    person = by_id(User, payload.person_id, "person_id", "person")
    made = services.story_recognise(
        actor=actor, kind=payload.kind, person=person, note=payload.note
    )
    return Status(201, _recognition(made.pk))


@router.get("/{story_id}", response={200: StoryOut, **ERRORS}, summary="One story")
def get_story(request: HttpRequest, story_id: int) -> Story:
    require_scope(request, "stories:read")
    return _load(story_id)


@router.patch("/{story_id}", response={200: StoryOut, **ERRORS}, summary="Edit a story")
def update_story(request: HttpRequest, story_id: int, payload: StoryPatch) -> Story:
    actor = act(request, "stories:write")
    services.story_update(story=_load(story_id), actor=actor, **payload.dict(exclude_unset=True))
    return _load(story_id)


@router.post("/{story_id}/nominate", response={200: StoryOut, **ERRORS}, summary="Nominate a draft")
def nominate_story(request: HttpRequest, story_id: int) -> Story:
    actor = act(request, "stories:write")
    services.story_nominate(story=_load(story_id), actor=actor)
    return _load(story_id)


@router.post(
    "/{story_id}/publish",
    response={200: StoryOut, **ERRORS},
    summary="Publish a story (leads and managers); sends the story.published webhook",
)
def publish_story(request: HttpRequest, story_id: int) -> Story:
    actor = act(request, "stories:write")
    services.story_publish(story=_load(story_id), actor=actor)
    return _load(story_id)


@router.post(
    "/{story_id}/recognitions",
    response={201: StoryRecognitionOut, **ERRORS},
    summary="Recognise the person who made it right (kudos or monthly; leads and managers)",
)
def recognise_story(
    request: HttpRequest, story_id: int, payload: StoryRecognitionIn
) -> Status[Recognition]:
    actor = act(request, "stories:write")
    story = _load(story_id)
    person = by_id(User, payload.person_id, "person_id", "person")
    made = services.story_recognise(
        actor=actor, kind=payload.kind, story=story, person=person, note=payload.note
    )
    return Status(201, _recognition(made.pk))


@router.post(
    "/{story_id}/prevention",
    response={201: StoryPreventionOut, **ERRORS},
    summary="Propose the story's prevention idea to the failure-mode catalog",
)
def propose_prevention(
    request: HttpRequest, story_id: int, payload: StoryPreventionIn
) -> Status[dict[str, Any]]:
    actor = act(request, "stories:write")
    story = _load(story_id)
    touchpoint = by_id(Touchpoint, payload.touchpoint_id, "touchpoint_id", "touchpoint")
    mode = services.story_propose_prevention(
        story=story,
        actor=actor,
        touchpoint=touchpoint,
        title=payload.title,
        severity=payload.severity,
        occurrence=payload.occurrence,
        detection=payload.detection,
    )
    return Status(201, {"failure_mode_id": mode.pk, "title": mode.title, "status": mode.status})
