"""Canned replies over the API: list, read, write (the coach scores each save), and one
filled in for a case."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Status

from bounceback.api.auth import request_actor, require_scope
from bounceback.api.endpoints import act, by_id
from bounceback.api.schemas import ERRORS, PatchSchema, Schema
from bounceback.cases.models import Case
from bounceback.replies import services
from bounceback.replies.models import CannedReply
from bounceback.replies.templating import case_values, reply_render

router = Router(tags=["canned replies"])


class CannedReplyFindingOut(Schema):
    code: str
    kind: str = Field(..., description="problem or missing")
    message: str
    suggestion: str = ""
    excerpt: str = ""


class CannedReplyOut(Schema):
    id: int
    title: str
    purpose: str = Field(..., description="apology, update, follow_up or other")
    body: str = Field(..., description="The text with its {{ placeholders }}")
    coach_score: int | None = Field(
        ...,
        description="The apology coach's score on sample values; null when not scored, "
        "and for updates and follow-ups, which are checked for phrasing problems only",
    )
    coach_threshold: int | None
    below_bar: bool = Field(..., description="An apology scored under the bar")
    coach_findings: list[CannedReplyFindingOut]
    archived: bool
    updated_at: datetime


class CannedReplyIn(Schema):
    title: str = Field(..., max_length=120)
    purpose: str = Field("apology", description="apology, update, follow_up or other")
    body: str


class CannedReplyPatch(PatchSchema):
    title: str | None = Field(None, max_length=120)
    purpose: str | None = None
    body: str | None = None
    archived: bool | None = None


class CannedReplyRenderedOut(Schema):
    id: int
    title: str
    body: str = Field(..., description="The text filled in for the case and the caller")


def _reply(reply_id: int) -> CannedReply:
    return by_id(CannedReply, reply_id, "reply_id", "canned reply")


@router.get("/", response={200: list[CannedReplyOut], **ERRORS}, summary="List canned replies")
def list_replies(request: HttpRequest, archived: bool = False) -> list[CannedReply]:
    require_scope(request, "cases:read")
    rows = CannedReply.objects.all() if archived else CannedReply.objects.active()
    return list(rows)


@router.post(
    "/",
    response={201: CannedReplyOut, **ERRORS},
    summary="Write a canned reply (the apology coach scores it)",
)
def create_reply(request: HttpRequest, payload: CannedReplyIn) -> Status[CannedReply]:
    actor = act(request, "cases:write")
    reply = services.canned_reply_create(
        title=payload.title, purpose=payload.purpose, body=payload.body, actor=actor
    )
    return Status(201, _reply(reply.pk))


@router.get("/{reply_id}", response={200: CannedReplyOut, **ERRORS}, summary="Read a canned reply")
def get_reply(request: HttpRequest, reply_id: int) -> CannedReply:
    require_scope(request, "cases:read")
    return _reply(reply_id)


@router.patch(
    "/{reply_id}",
    response={200: CannedReplyOut, **ERRORS},
    summary="Edit or archive a canned reply (the coach scores the new text)",
)
def update_reply(request: HttpRequest, reply_id: int, payload: CannedReplyPatch) -> CannedReply:
    actor = act(request, "cases:write")
    reply = _reply(reply_id)
    changes = payload.dict(exclude_unset=True)
    archived = changes.pop("archived", None)
    if changes:
        reply = services.canned_reply_update(
            reply=reply,
            title=changes.get("title") or reply.title,
            purpose=changes.get("purpose") or reply.purpose,
            body=str(changes["body"]) if changes.get("body") is not None else reply.body,
            actor=actor,
        )
    if archived is not None:
        services.canned_reply_archive(reply=reply, actor=actor, archived=archived)
    return _reply(reply_id)


@router.get(
    "/{reply_id}/for-case/{case_id}",
    response={200: CannedReplyRenderedOut, **ERRORS},
    summary="A canned reply filled in for a case, as the caller would send it",
)
def render_reply(request: HttpRequest, reply_id: int, case_id: int) -> dict[str, Any]:
    require_scope(request, "cases:read")
    reply = _reply(reply_id)
    case = by_id(Case, case_id, "case_id", "case")
    staff = request_actor(request).user
    return {
        "id": reply.pk,
        "title": reply.title,
        "body": reply_render(reply.body, case_values(case, staff)),
    }
