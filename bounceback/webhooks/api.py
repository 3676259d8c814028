"""The webhooks API: subscriptions and their delivery log, and inbound channels.

Secrets are returned only by the calls that make them (create, rotate);
every other answer masks them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Status

from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, PageFilters, PatchSchema, Schema
from bounceback.webhooks import services, signing
from bounceback.webhooks.models import InboundChannel, WebhookDelivery, WebhookSubscription

router = Router(tags=["webhooks"])


class SubscriptionIn(Schema):
    name: str
    url: str
    events: list[str] = Field(..., description='Event names from the catalogue, or ["*"]')


class SubscriptionPatch(PatchSchema):
    name: str | None = None
    url: str | None = None
    events: list[str] | None = None


class SubscriptionDisableIn(Schema):
    reason: str = ""


class SubscriptionOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    active: bool
    secret: str = Field(..., description="Masked except in the answer to create")
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str
    last_delivery_at: datetime | None
    last_delivery_state: str
    created_at: datetime

    @staticmethod
    def resolve_secret(obj: WebhookSubscription) -> str:
        return signing.mask(obj.secret)


class SubscriptionCreatedOut(SubscriptionOut):
    @staticmethod
    def resolve_secret(obj: WebhookSubscription) -> str:
        return obj.secret


class SubscriptionPage(Schema):
    items: list[SubscriptionOut]
    next_cursor: str | None


class DeliveryOut(Schema):
    id: int
    subscription_id: int
    event: str
    event_id: UUID
    payload: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    last_response_excerpt: str
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryFilters(PageFilters):
    state: str | None = None


class ChannelIn(Schema):
    name: str
    slug: str
    kind: str = Field(..., description="chat, social or sms")
    mapping: dict[str, str] = Field(default_factory=dict)
    outbound_url: str = ""
    active: bool = True
    delivers: str = Field(
        "messages",
        description="messages (filed on cases) or signals (recorded for discovery's rules)",
    )


class ChannelPatch(PatchSchema):
    name: str | None = None
    kind: str | None = None
    mapping: dict[str, str] | None = None
    outbound_url: str | None = None
    active: bool | None = None
    delivers: str | None = None


class RotateIn(Schema):
    which: str = Field("inbound", description="inbound (what the provider signs with) or outbound")


class ChannelOut(Schema):
    id: int
    name: str
    slug: str
    kind: str
    hook_path: str
    mapping: dict[str, str]
    effective_mapping: dict[str, str]
    outbound_url: str
    secret: str = Field(..., description="Masked except in the answers to create and rotate")
    outbound_secret: str
    previous_secret_until: datetime | None
    active: bool
    delivers: str
    created_at: datetime

    @staticmethod
    def resolve_hook_path(obj: InboundChannel) -> str:
        return f"/hooks/{obj.slug}/"

    @staticmethod
    def resolve_effective_mapping(obj: InboundChannel) -> dict[str, str]:
        return obj.effective_mapping()

    @staticmethod
    def resolve_secret(obj: InboundChannel) -> str:
        return signing.mask(obj.secret)

    @staticmethod
    def resolve_outbound_secret(obj: InboundChannel) -> str:
        return signing.mask(obj.outbound_secret) if obj.outbound_secret else ""


class ChannelSecretsOut(ChannelOut):
    @staticmethod
    def resolve_secret(obj: InboundChannel) -> str:
        return obj.secret

    @staticmethod
    def resolve_outbound_secret(obj: InboundChannel) -> str:
        return obj.outbound_secret


class ChannelPage(Schema):
    items: list[ChannelOut]
    next_cursor: str | None


# --- Subscriptions ---------------------------------------------------------------------------


@router.get(
    "/subscriptions", response={200: SubscriptionPage, **ERRORS}, summary="List subscriptions"
)
def list_subscriptions(request: HttpRequest, filters: Query[PageFilters]) -> dict[str, Any]:
    require_scope(request, "webhooks:read")
    return page_answer(
        WebhookSubscription.objects.all(), filters, order_field="created_at", descending=True
    )


@router.post(
    "/subscriptions",
    response={201: SubscriptionCreatedOut, **ERRORS},
    summary="Subscribe a URL to events; the answer carries the signing secret, once",
)
def create_subscription(
    request: HttpRequest, payload: SubscriptionIn
) -> Status[WebhookSubscription]:
    actor = act(request, "webhooks:write")
    subscription = services.subscription_create(actor=actor, request=request, **payload.dict())
    return Status(201, subscription)


@router.get(
    "/subscriptions/{subscription_id}",
    response={200: SubscriptionOut, **ERRORS},
    summary="Read a subscription",
)
def get_subscription(request: HttpRequest, subscription_id: int) -> WebhookSubscription:
    require_scope(request, "webhooks:read")
    return get_object_or_404(WebhookSubscription, pk=subscription_id)


@router.patch(
    "/subscriptions/{subscription_id}",
    response={200: SubscriptionOut, **ERRORS},
    summary="Change a subscription's name, URL or events",
)
def update_subscription(
    request: HttpRequest, subscription_id: int, payload: SubscriptionPatch
) -> WebhookSubscription:
    actor = act(request, "webhooks:write")
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
    return services.subscription_update(
        subscription=subscription,
        actor=actor,
        request=request,
        **payload.dict(exclude_unset=True),
    )


@router.post(
    "/subscriptions/{subscription_id}/disable",
    response={200: SubscriptionOut, **ERRORS},
    summary="Stop sending; deliveries still waiting are cancelled",
)
def disable_subscription(
    request: HttpRequest, subscription_id: int, payload: SubscriptionDisableIn
) -> WebhookSubscription:
    actor = act(request, "webhooks:write")
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
    return services.subscription_disable(
        subscription=subscription,
        actor=actor,
        reason=payload.reason,
        request=request,
    )


@router.post(
    "/subscriptions/{subscription_id}/enable",
    response={200: SubscriptionOut, **ERRORS},
    summary="Send again, with the failure count back at zero",
)
def enable_subscription(request: HttpRequest, subscription_id: int) -> WebhookSubscription:
    actor = act(request, "webhooks:write")
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
    return services.subscription_enable(subscription=subscription, actor=actor, request=request)


@router.post(
    "/subscriptions/{subscription_id}/test",
    response={202: DeliveryOut, **ERRORS},
    summary="Queue a webhook.test event to this subscription",
)
def test_subscription(request: HttpRequest, subscription_id: int) -> Status[WebhookDelivery]:
    actor = act(request, "webhooks:write")
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
    delivery = services.subscription_send_test(subscription=subscription, actor=actor)
    return Status(202, delivery)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response={200: DeliveryPage, **ERRORS},
    summary="The delivery log of a subscription, newest first",
)
def list_deliveries(
    request: HttpRequest, subscription_id: int, filters: Query[DeliveryFilters]
) -> dict[str, Any]:
    require_scope(request, "webhooks:read")
    subscription = get_object_or_404(WebhookSubscription, pk=subscription_id)
    rows = WebhookDelivery.objects.filter(subscription=subscription)
    if filters.state:
        rows = rows.filter(state=filters.state)
    return page_answer(rows, filters, order_field="created_at", descending=True)


@router.post(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
    response={202: DeliveryOut, **ERRORS},
    summary="Send a finished delivery again (a new delivery with the same event id)",
)
def redeliver(
    request: HttpRequest, subscription_id: int, delivery_id: int
) -> Status[WebhookDelivery]:
    actor = act(request, "webhooks:write")
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("subscription"),
        pk=delivery_id,
        subscription_id=subscription_id,
    )
    return Status(202, services.delivery_redeliver(delivery=delivery, actor=actor))


# --- Channels -------------------------------------------------------------------------------


@router.get("/channels", response={200: ChannelPage, **ERRORS}, summary="List inbound channels")
def list_channels(request: HttpRequest, filters: Query[PageFilters]) -> dict[str, Any]:
    require_scope(request, "webhooks:read")
    return page_answer(
        InboundChannel.objects.all(), filters, order_field="created_at", descending=True
    )


@router.post(
    "/channels",
    response={201: ChannelSecretsOut, **ERRORS},
    summary="Add a chat, social or SMS provider; the answer carries its secrets, once",
)
def create_channel(request: HttpRequest, payload: ChannelIn) -> Status[InboundChannel]:
    actor = act(request, "webhooks:write")
    channel = services.channel_create(actor=actor, request=request, **payload.dict())
    return Status(201, channel)


@router.get(
    "/channels/{channel_id}", response={200: ChannelOut, **ERRORS}, summary="Read a channel"
)
def get_channel(request: HttpRequest, channel_id: int) -> InboundChannel:
    require_scope(request, "webhooks:read")
    return get_object_or_404(InboundChannel, pk=channel_id)


@router.patch(
    "/channels/{channel_id}",
    response={200: ChannelOut, **ERRORS},
    summary="Change a channel (its slug stays)",
)
def update_channel(request: HttpRequest, channel_id: int, payload: ChannelPatch) -> InboundChannel:
    actor = act(request, "webhooks:write")
    channel = get_object_or_404(InboundChannel, pk=channel_id)
    return services.channel_update(
        channel=channel,
        actor=actor,
        request=request,
        **payload.dict(exclude_unset=True),
    )


@router.post(
    "/channels/{channel_id}/rotate-secret",
    response={200: ChannelSecretsOut, **ERRORS},
    summary="Make a new secret; the old inbound one keeps working for 24 hours",
)
def rotate_channel_secret(
    request: HttpRequest, channel_id: int, payload: RotateIn
) -> InboundChannel:
    actor = act(request, "webhooks:write")
    channel = get_object_or_404(InboundChannel, pk=channel_id)
    return services.channel_rotate_secret(
        channel=channel, actor=actor, which=payload.which, request=request
    )


@router.post(
    "/channels/{channel_id}/revoke-previous-secret",
    response={200: ChannelOut, **ERRORS},
    summary="Stop the secret replaced by the last rotation working now, not after 24 hours",
)
def revoke_previous_channel_secret(request: HttpRequest, channel_id: int) -> InboundChannel:
    actor = act(request, "webhooks:write")
    channel = get_object_or_404(InboundChannel, pk=channel_id)
    return services.channel_revoke_previous_secret(channel=channel, actor=actor, request=request)
