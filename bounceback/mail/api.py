from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, Schema
from bounceback.errors import NotFound, ValidationFailed
from bounceback.mail import services
from bounceback.mail.models import InboundEmail
from bounceback.mail.selectors import email_already_stored

router = Router(tags=["mail"])

RAW_TYPES = ("message/rfc822", "text/plain", "application/octet-stream")


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    skipped: bool
    skip_reason: str


class InboundEmailOut(Schema):
    id: int
    source: str
    message_id: str
    from_address: str
    from_name: str
    to_addresses: list[str]
    subject: str
    sent_at: datetime | None
    received_at: datetime
    size: int
    state: str
    kind: str
    reason: str
    customer_id: int | None
    case_id: int | None
    case_reference: str | None = None
    interaction_id: int | None
    decided_at: datetime | None

    @staticmethod
    def resolve_case_reference(obj: InboundEmail) -> str | None:
        return obj.case.reference if obj.case_id and obj.case else None


class InboundEmailDetailOut(InboundEmailOut):
    cc_addresses: list[str]
    body_text: str
    attachments: list[AttachmentOut]


class InboundEmailPage(Schema):
    items: list[InboundEmailOut]
    next_cursor: str | None


class MailFilters(Schema):
    state: str | None = Field(None, description="accepted, ignored, held, released, discarded")
    case_id: int | None = None
    cursor: str | None = None
    limit: int = 50


class ReleaseIn(Schema):
    case_reference: str = Field(
        "", description="File into this case (BB-00012); empty opens a new case for the sender"
    )


class DiscardIn(Schema):
    reason: str


def _email(email_id: int) -> InboundEmail:
    row = (
        InboundEmail.objects.without_raw()
        .select_related("case")
        .prefetch_related("attachments")
        .filter(pk=email_id)
        .first()
    )
    if row is None:
        raise NotFound(f"no email {email_id}", field="email_id")
    return row


@router.post(
    "/inbound",
    response={200: InboundEmailDetailOut, 201: InboundEmailDetailOut, **ERRORS},
    summary="Hand in one raw email (RFC 822 body); 200 with the stored row for a duplicate",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def receive(request: HttpRequest) -> Status[InboundEmail]:
    require_scope(request, "mail:write")
    content_type = (request.content_type or "").lower()
    if content_type not in RAW_TYPES:
        raise ValidationFailed(
            "send the raw message as message/rfc822 or text/plain, "
            f"not {content_type or 'nothing'}",
            field="content_type",
        )
    raw = request.body
    if not raw.strip():
        raise ValidationFailed("the message is empty", field="body")
    duplicate = email_already_stored(raw)
    email = services.email_receive(raw=raw, source="api")
    return Status(200 if duplicate else 201, _email(email.pk))


@router.get(
    "/messages",
    response={200: InboundEmailPage, **ERRORS},
    summary="List received emails, newest first",
)
def list_messages(request: HttpRequest, filters: Query[MailFilters]) -> dict[str, Any]:
    require_scope(request, "mail:read")
    rows = InboundEmail.objects.without_raw().select_related("case")
    if filters.state is not None:
        if filters.state not in InboundEmail.State.values:
            raise ValidationFailed(
                f"state must be one of {', '.join(InboundEmail.State.values)}", field="state"
            )
        rows = rows.filter(state=filters.state)
    if filters.case_id is not None:
        rows = rows.filter(case_id=filters.case_id)
    return page_answer(rows, filters, order_field="received_at", descending=True)


@router.get(
    "/messages/{email_id}",
    response={200: InboundEmailDetailOut, **ERRORS},
    summary="Read one received email",
)
def get_message(request: HttpRequest, email_id: int) -> InboundEmail:
    require_scope(request, "mail:read")
    return _email(email_id)


@router.post(
    "/messages/{email_id}/release",
    response={200: InboundEmailDetailOut, **ERRORS},
    summary="File a held email into a case (or a new case for its sender)",
)
def release(request: HttpRequest, email_id: int, payload: ReleaseIn) -> InboundEmail:
    actor = act(request, "mail:write")
    email = services.email_release(
        email=_email(email_id), actor=actor, case_reference=payload.case_reference
    )
    return _email(email.pk)


@router.post(
    "/messages/{email_id}/discard",
    response={200: InboundEmailDetailOut, **ERRORS},
    summary="Discard a held email, with the reason",
)
def discard(request: HttpRequest, email_id: int, payload: DiscardIn) -> InboundEmail:
    actor = act(request, "mail:write")
    email = services.email_discard(email=_email(email_id), actor=actor, reason=payload.reason)
    return _email(email.pk)
