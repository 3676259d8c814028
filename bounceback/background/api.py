"""Failed deliveries in the API: what gave up, and sending it again."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act
from bounceback.api.schemas import ERRORS, Schema
from bounceback.background.deliveries import lanes
from bounceback.background.selectors import failed_deliveries
from bounceback.errors import NotFound

router = Router(tags=["deliveries"])


class FailedDeliveryOut(Schema):
    lane: str
    id: int
    what: str
    to: str
    error: str
    attempts: int
    failed_at: datetime | None
    link: str


class FailedLaneOut(Schema):
    lane: str
    label: str
    total: int
    items: list[FailedDeliveryOut]


class RetriedOut(Schema):
    lane: str
    id: int


@router.get(
    "/failed",
    response={200: list[FailedLaneOut], **ERRORS},
    summary="Messages and webhook events that failed for good, newest first (100 per kind)",
)
def failed(request: HttpRequest) -> list[FailedLaneOut]:
    require_scope(request, "deliveries:read")
    return [
        FailedLaneOut(
            lane=group.lane.name,
            label=group.lane.label,
            total=group.total,
            items=[FailedDeliveryOut(**vars(item)) for item in group.items],
        )
        for group in failed_deliveries()
    ]


@router.post(
    "/{lane}/{delivery_id}/retry",
    response={202: RetriedOut, **ERRORS},
    summary="Send a failed message (lane outbox) or webhook event (lane webhooks) again now",
)
def retry(request: HttpRequest, lane: str, delivery_id: int) -> Status[RetriedOut]:
    actor = act(request, "deliveries:write")
    found = {each.name: each for each in lanes()}.get(lane)
    if found is None:
        raise NotFound(f"no kind of delivery called {lane!r}", field="lane")
    found.retry(pk=delivery_id, actor=actor)
    return Status(202, RetriedOut(lane=lane, id=delivery_id))
