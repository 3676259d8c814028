from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, PatchSchema, Schema
from bounceback.customers.models import Customer
from bounceback.errors import NotFound
from bounceback.interactions.models import Interaction
from bounceback.interactions.services import interaction_log, interaction_update

router = Router(tags=["interactions"])


class InteractionIn(Schema):
    customer_id: int
    channel: str = Field(..., examples=["email"])
    direction: str = Field(..., examples=["inbound"])
    body: str
    subject: str = ""
    occurred_at: datetime | None = Field(None, description="Defaults to now")
    thread_ref: str = Field("", description="Conversation reference, e.g. an email Message-ID")
    author_name: str = ""
    source: str = "api"
    external_id: str | None = Field(None, description="Unique per source; a repeat is refused")
    metadata: dict[str, Any] = Field(default_factory=dict)


class InteractionPatch(PatchSchema):
    subject: str | None = None
    body: str | None = None
    thread_ref: str | None = None
    metadata: dict[str, Any] | None = None


class InteractionOut(Schema):
    id: int
    customer_id: int
    channel: str
    direction: str
    author_id: int | None
    author_name: str
    subject: str
    body: str
    occurred_at: datetime
    thread_ref: str
    source: str
    external_id: str | None
    metadata: dict[str, Any]
    created_at: datetime


class InteractionPage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


class InteractionFilters(Schema):
    customer_id: int | None = None
    channel: str | None = None
    direction: str | None = None
    thread_ref: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    cursor: str | None = None
    limit: int = 50


@router.post("/", response={201: InteractionOut, **ERRORS}, summary="Log an interaction")
def create_interaction(request: HttpRequest, payload: InteractionIn) -> Status[Interaction]:
    actor = act(request, "interactions:write")
    customer = Customer.objects.filter(pk=payload.customer_id).first()
    if customer is None:
        raise NotFound(f"no customer with id {payload.customer_id}", field="customer_id")
    interaction = interaction_log(
        customer=customer,
        channel=payload.channel,
        direction=payload.direction,
        body=payload.body,
        subject=payload.subject,
        occurred_at=payload.occurred_at,
        thread_ref=payload.thread_ref,
        author=actor,
        author_name=payload.author_name,
        source=payload.source,
        external_id=payload.external_id,
        metadata=payload.metadata,
    )
    return Status(201, interaction)


@router.get(
    "/", response={200: InteractionPage, **ERRORS}, summary="List interactions, newest first"
)
def list_interactions(request: HttpRequest, filters: Query[InteractionFilters]) -> dict[str, Any]:
    require_scope(request, "interactions:read")
    exact = {
        "customer_id": filters.customer_id,
        "channel": filters.channel,
        "direction": filters.direction,
        "thread_ref": filters.thread_ref,
        "occurred_at__gte": filters.occurred_after,
        "occurred_at__lt": filters.occurred_before,
    }
    queryset = Interaction.objects.filter(**{k: v for k, v in exact.items() if v is not None})
    return page_answer(queryset, filters, order_field="occurred_at", descending=True)


@router.get(
    "/{interaction_id}", response={200: InteractionOut, **ERRORS}, summary="Read an interaction"
)
def get_interaction(request: HttpRequest, interaction_id: int) -> Interaction:
    require_scope(request, "interactions:read")
    return get_object_or_404(Interaction, pk=interaction_id)


@router.patch(
    "/{interaction_id}",
    response={200: InteractionOut, **ERRORS},
    summary="Correct an interaction's text",
)
def update_interaction(
    request: HttpRequest, interaction_id: int, payload: InteractionPatch
) -> Interaction:
    require_scope(request, "interactions:write")
    interaction = get_object_or_404(Interaction, pk=interaction_id)
    return interaction_update(interaction=interaction, changes=payload.dict(exclude_unset=True))
