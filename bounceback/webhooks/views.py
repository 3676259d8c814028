"""Integrations: the staff pages for webhooks and channels, and the provider endpoint.

Staff pages are thin: each form posts to its own view, which calls one
service; a refusal comes back on the form field it names. A new secret is
shown once, on the page the person lands on after making it (kept in their
session until then), and masked everywhere afterwards.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bounceback.errors import Conflict, ServiceError, ValidationFailed
from bounceback.web.actions import perform
from bounceback.webhooks import inbound, services, signing
from bounceback.webhooks.events import ALL, EVENTS
from bounceback.webhooks.forms import ChannelForm, ReasonForm, SubscriptionForm
from bounceback.webhooks.models import (
    DEFAULT_MAPPING,
    InboundChannel,
    WebhookDelivery,
    WebhookSubscription,
)

VIEW_SUB = "webhooks.view_webhooksubscription"
ADD_SUB = "webhooks.add_webhooksubscription"
CHANGE_SUB = "webhooks.change_webhooksubscription"
VIEW_CHANNEL = "webhooks.view_inboundchannel"
ADD_CHANNEL = "webhooks.add_inboundchannel"
CHANGE_CHANNEL = "webhooks.change_inboundchannel"
DELIVERIES_PAGE = 25


def _reveal_key(kind: str, pk: int) -> str:
    return f"webhooks:reveal:{kind}:{pk}"


def _reveal_later(request: HttpRequest, kind: str, pk: int, secrets: dict[str, str]) -> None:
    request.session[_reveal_key(kind, pk)] = secrets


def _reveal_now(request: HttpRequest, kind: str, pk: int) -> dict[str, str]:
    return dict(request.session.pop(_reveal_key(kind, pk), None) or {})


# --- The list ------------------------------------------------------------------------------


@permission_required(VIEW_SUB, raise_exception=True)
def integrations(request: HttpRequest) -> HttpResponse:
    subscriptions = list(WebhookSubscription.objects.order_by("-active", "name", "id"))
    channels = (
        list(InboundChannel.objects.order_by("-active", "name", "id"))
        if request.user.has_perm(VIEW_CHANNEL)
        else None
    )
    return render(
        request,
        "webhooks/integrations.html",
        {"subscriptions": subscriptions, "channels": channels, "events": EVENTS},
    )


# --- Subscriptions -------------------------------------------------------------------------


@permission_required(ADD_SUB, raise_exception=True)
def subscription_create(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)

    def create(data: dict[str, Any]) -> WebhookSubscription:
        subscription = services.subscription_create(actor=request.user, request=request, **data)
        _reveal_later(request, "subscription", subscription.pk, {"secret": subscription.secret})
        return subscription

    return perform(
        request,
        create,
        form=form,
        page=lambda: render(
            request, "webhooks/subscription_form.html", {"form": form, "subscription": None}
        ),
        success=lambda subscription: f"Subscription {subscription.name} created.",
        redirect_to=lambda subscription: reverse("webhooks:subscription", args=[subscription.pk]),
    )


@permission_required(CHANGE_SUB, raise_exception=True)
def subscription_edit(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    initial = {"name": subscription.name, "url": subscription.url, "events": subscription.events}
    form = SubscriptionForm(request.POST or None, initial=initial)
    return perform(
        request,
        lambda data: services.subscription_update(
            subscription=subscription, actor=request.user, request=request, **data
        ),
        form=form,
        page=lambda: render(
            request,
            "webhooks/subscription_form.html",
            {"form": form, "subscription": subscription},
        ),
        success="Subscription saved.",
        redirect_to=reverse("webhooks:subscription", args=[subscription.pk]),
    )


@permission_required(VIEW_SUB, raise_exception=True)
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    deliveries = WebhookDelivery.objects.filter(subscription=subscription).order_by(
        "-created_at", "-id"
    )
    page = Paginator(deliveries, DELIVERIES_PAGE).get_page(request.GET.get("page"))
    events = [ALL] if ALL in subscription.events else subscription.events
    return render(
        request,
        "webhooks/subscription_detail.html",
        {
            "subscription": subscription,
            "page_obj": page,
            "deliveries": list(page.object_list),
            "event_lines": [(e, EVENTS.get(e, "Every event")) for e in events],
            "revealed": _reveal_now(request, "subscription", subscription.pk),
            "masked_secret": signing.mask(subscription.secret),
            "reason_form": ReasonForm(),
        },
    )


@require_POST
@permission_required(CHANGE_SUB, raise_exception=True)
def subscription_test(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    return perform(
        request,
        lambda: services.subscription_send_test(subscription=subscription, actor=request.user),
        success="A test event is on its way; it appears in the log below.",
        redirect_to=reverse("webhooks:subscription", args=[pk]),
    )


@require_POST
@permission_required(CHANGE_SUB, raise_exception=True)
def subscription_disable(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return perform(
        request,
        lambda: services.subscription_disable(
            subscription=subscription, actor=request.user, reason=reason, request=request
        ),
        success="Subscription disabled; deliveries still waiting were cancelled.",
        redirect_to=reverse("webhooks:subscription", args=[pk]),
    )


@require_POST
@permission_required(CHANGE_SUB, raise_exception=True)
def subscription_enable(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    return perform(
        request,
        lambda: services.subscription_enable(
            subscription=subscription, actor=request.user, request=request
        ),
        success="Subscription enabled; the failure count starts again at zero.",
        redirect_to=reverse("webhooks:subscription", args=[pk]),
    )


@require_POST
@permission_required(CHANGE_SUB, raise_exception=True)
def delivery_redeliver(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("subscription"), pk=delivery_id, subscription_id=pk
    )
    return perform(
        request,
        lambda: services.delivery_redeliver(delivery=delivery, actor=request.user),
        success=f"{delivery.event} queued again with the same event id.",
        redirect_to=reverse("webhooks:subscription", args=[pk]),
    )


# --- Channels ------------------------------------------------------------------------------


def _mapping_text(mapping: dict[str, str]) -> str:
    return json.dumps(mapping, indent=2) if mapping else ""


@permission_required(ADD_CHANNEL, raise_exception=True)
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST or None, initial={"active": True})

    def create(data: dict[str, Any]) -> InboundChannel:
        channel = services.channel_create(actor=request.user, request=request, **data)
        secrets = {"secret": channel.secret}
        if channel.outbound_secret:
            secrets["outbound_secret"] = channel.outbound_secret
        _reveal_later(request, "channel", channel.pk, secrets)
        return channel

    return perform(
        request,
        create,
        form=form,
        page=lambda: render(request, "webhooks/channel_form.html", {"form": form, "channel": None}),
        success=lambda channel: f"Channel {channel.name} created.",
        redirect_to=lambda channel: reverse("webhooks:channel", args=[channel.pk]),
    )


@permission_required(CHANGE_CHANNEL, raise_exception=True)
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(InboundChannel, pk=pk)
    initial = {
        "name": channel.name,
        "kind": channel.kind,
        "mapping": _mapping_text(channel.mapping),
        "outbound_url": channel.outbound_url,
        "active": channel.active,
    }
    form = ChannelForm(request.POST or None, initial=initial, editing=True)

    def save(data: dict[str, Any]) -> InboundChannel:
        had_outbound_secret = bool(channel.outbound_secret)
        saved = services.channel_update(
            channel=channel, actor=request.user, request=request, **data
        )
        if saved.outbound_secret and not had_outbound_secret:
            _reveal_later(request, "channel", saved.pk, {"outbound_secret": saved.outbound_secret})
        return saved

    return perform(
        request,
        save,
        form=form,
        page=lambda: render(
            request, "webhooks/channel_form.html", {"form": form, "channel": channel}
        ),
        success="Channel saved.",
        redirect_to=lambda saved: reverse("webhooks:channel", args=[saved.pk]),
    )


def _example(channel: InboundChannel, hook_url: str) -> str:
    body = json.dumps(
        {
            "id": "msg-1001",
            "sender": {"id": "+447700900123", "name": "Ada Lovelace", "phone": "+447700900123"},
            "text": "My parcel never arrived.",
            "thread": "conv-77",
            "timestamp": 1767225600,
        },
        separators=(",", ":"),
    )
    return (
        "SECRET='<the channel secret>'\n"
        f"BODY='{body}'\n"
        "TS=$(date +%s)\n"
        'SIG=$(printf \'%s.%s\' "$TS" "$BODY" \\\n'
        "  | openssl dgst -sha256 -hmac \"$SECRET\" | sed 's/^.* //')\n"
        f"curl -sS -X POST '{hook_url}' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        '  -H "X-Bounceback-Timestamp: $TS" \\\n'
        '  -H "X-Bounceback-Signature: sha256=$SIG" \\\n'
        '  --data-binary "$BODY"'
    )


@permission_required(VIEW_CHANNEL, raise_exception=True)
def channel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(InboundChannel, pk=pk)
    hook_url = settings.BOUNCEBACK_PUBLIC_URL + reverse("webhooks:hook", args=[channel.slug])
    mapping = channel.effective_mapping()
    return render(
        request,
        "webhooks/channel_detail.html",
        {
            "channel": channel,
            "hook_url": hook_url,
            "example": _example(channel, hook_url),
            "mapping_rows": [(k, v, k in (channel.mapping or {})) for k, v in mapping.items()],
            "revealed": _reveal_now(request, "channel", channel.pk),
            "masked_secret": signing.mask(channel.secret),
            "previous_works": bool(
                channel.previous_secret
                and channel.previous_secret_until
                and channel.previous_secret_until > timezone.now()
            ),
            "masked_outbound_secret": signing.mask(channel.outbound_secret)
            if channel.outbound_secret
            else "",
            "defaults": DEFAULT_MAPPING,
        },
    )


@require_POST
@permission_required(CHANGE_CHANNEL, raise_exception=True)
def channel_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(InboundChannel, pk=pk)
    which = request.POST.get("which", "inbound")

    def rotate() -> InboundChannel:
        rotated = services.channel_rotate_secret(
            channel=channel, actor=request.user, which=which, request=request
        )
        key = "secret" if which == "inbound" else "outbound_secret"
        _reveal_later(request, "channel", rotated.pk, {key: getattr(rotated, key)})
        return rotated

    return perform(
        request,
        rotate,
        success=(
            "New secret made. The old one keeps working for 24 hours: "
            "give the provider the new one before then."
            if which == "inbound"
            else "New outbound secret made; replies are signed with it now."
        ),
        redirect_to=reverse("webhooks:channel", args=[pk]),
    )


@require_POST
@permission_required(CHANGE_CHANNEL, raise_exception=True)
def channel_revoke_previous(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(InboundChannel, pk=pk)
    return perform(
        request,
        lambda: services.channel_revoke_previous_secret(
            channel=channel, actor=request.user, request=request
        ),
        success="The previous secret no longer works; only the current one does.",
        redirect_to=reverse("webhooks:channel", args=[pk]),
    )


# --- The provider endpoint -----------------------------------------------------------------


def _error(error: ServiceError, status: int | None = None) -> JsonResponse:
    return JsonResponse(error.as_dict(), status=status or error.status)


@login_not_required
@csrf_exempt
@require_POST
def hook(request: HttpRequest, slug: str) -> HttpResponse:
    """A provider posts one customer message here, signed with the channel's secret."""
    try:
        channel = inbound.channel_for(slug)
    except ServiceError as error:
        return _error(error)
    limit = settings.BOUNCEBACK_WEBHOOK_INBOUND_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _error(
            ValidationFailed(
                f"the body is larger than {limit} bytes", field="body", code="too_large"
            ),
            413,
        )
    body = request.body
    if len(body) > limit:
        return _error(
            ValidationFailed(
                f"the body is larger than {limit} bytes", field="body", code="too_large"
            ),
            413,
        )
    try:
        inbound.verify(
            channel=channel,
            body=body,
            timestamp=request.headers.get(signing.TIMESTAMP_HEADER),
            signature=request.headers.get(signing.SIGNATURE_HEADER),
        )
        received = inbound.inbound_receive(channel=channel, body=body)
    except ValidationFailed as error:
        # Whatever the provider sent cannot be stored as it is: a client error.
        return _error(error, 400)
    except (Conflict, ServiceError) as error:
        return _error(error)
    if received.duplicate:
        return JsonResponse({"status": "duplicate"}, status=200)
    return JsonResponse(
        {
            "status": "accepted",
            "case": received.case.reference if received.case else None,
            "interaction": received.interaction_id,
        },
        status=202,
    )
