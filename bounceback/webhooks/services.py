"""Webhook subscriptions and their deliveries, and inbound channels.

Rules for callers:
- Every change to a subscription or a channel goes through a function here and
  is audited. Secrets are generated here, never taken from a person.
- Events are published with `bounceback.webhooks.events.webhook_publish`;
  deliveries are sent by the workers' webhook lane (`WEBHOOK_LANE`, see
  `bounceback.background.deliveries`) and retried with backoff. Never POST to a
  subscriber directly.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from bounceback.actors import Actor, ActorLike, actor_of
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record
from bounceback.background.deliveries import (
    FailedDelivery,
    Lane,
    backoff,
    lane_claim,
    lane_record,
    lane_release,
    lane_send_claimed,
    window_note,
)
from bounceback.changes import changes_apply
from bounceback.errors import Conflict, NotFound, ValidationFailed
from bounceback.inputs import text_field
from bounceback.webhooks import egress, signing
from bounceback.webhooks.events import ALL, EVENTS, TEST_EVENT
from bounceback.webhooks.models import (
    DEFAULT_MAPPING,
    InboundChannel,
    WebhookDelivery,
    WebhookSubscription,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)

# After a rotation the old inbound secret keeps working this long.
ROTATION_GRACE = timedelta(hours=24)
NAME_MAX = 120
URL_MAX = 500
# 55 at most: the slug names the channel as "hook:<slug>" in 60-character source columns.
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,53}[a-z0-9])?$")
_PATH = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


# --- Validation ------------------------------------------------------------------------------


def url_clean(url: str, *, field: str = "url", required: bool = True) -> str:
    """An absolute http or https URL; anything else (file:, ftp:, relative) is refused,
    and so is a host that is or resolves to an internal address (egress.py)."""
    url = (url or "").strip()
    if not url:
        if required:
            raise ValidationFailed("a URL is required", field=field)
        return ""
    if len(url) > URL_MAX:
        raise ValidationFailed(f"the URL is longer than {URL_MAX} characters", field=field)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise ValidationFailed(f"{url!r} is not a valid URL", field=field) from None
    if parts.scheme not in {"http", "https"}:
        raise ValidationFailed("the URL must start with http:// or https://", field=field)
    if not parts.hostname or any(c.isspace() for c in url):
        raise ValidationFailed(f"{url!r} is not a valid URL", field=field)
    refusal = egress.url_refusal(url)
    if refusal:
        raise ValidationFailed(
            f"Bounceback does not send to internal addresses: {refusal} "
            "(an administrator can allow a network in BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS)",
            field=field,
            code="forbidden_address",
        )
    return url


def _events(events: Any) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise ValidationFailed("choose at least one event (or * for all)", field="events")
    clean: list[str] = []
    for i, event in enumerate(events):
        if not isinstance(event, str) or (event != ALL and event not in EVENTS):
            raise ValidationFailed(
                f"unknown event {event!r}; choose from {', '.join(EVENTS)} or *",
                field=f"events[{i}]",
            )
        if event not in clean:
            clean.append(event)
    return [ALL] if ALL in clean else clean


def _target(subscription: WebhookSubscription) -> str:
    return f"webhook {subscription.pk} ({subscription.name})"


def _channel_target(channel: InboundChannel) -> str:
    return f"channel {channel.slug}"


# --- Subscriptions ----------------------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *, name: str, url: str, events: list[str], actor: ActorLike, request: HttpRequest | None = None
) -> WebhookSubscription:
    """A new active subscription with a fresh secret (show it to the person once)."""
    clean_name, clean_url, clean_events = (
        text_field(name, field="name", max_length=NAME_MAX, required=True),
        url_clean(url),
        _events(events),
    )
    subscription = WebhookSubscription.objects.create(
        name=clean_name,
        url=clean_url,
        events=clean_events,
        secret=signing.new_secret(),
        created_by=actor_of(actor).user,
    )
    audit_record(
        action=AuditEvent.Action.WEBHOOK_CREATED,
        actor=actor,
        target=_target(subscription),
        request=request,
        data={"url": clean_url, "events": clean_events},
    )
    return subscription


def _lock_subscription(subscription: WebhookSubscription) -> WebhookSubscription:
    return WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)


@transaction.atomic
def subscription_update(
    *,
    subscription: WebhookSubscription,
    actor: ActorLike,
    name: str | None = None,
    url: str | None = None,
    events: list[str] | None = None,
    request: HttpRequest | None = None,
) -> WebhookSubscription:
    """Change a subscription's name, URL or events; only what differs is saved and
    audited. Locks the subscription."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = text_field(name, field="name", max_length=NAME_MAX, required=True)
    if url is not None:
        changes["url"] = url_clean(url)
    if events is not None:
        changes["events"] = _events(events)
    subscription = _lock_subscription(subscription)
    diff = {k: after for k, (_, after) in changes_apply(subscription, changes).items()}
    if not diff:
        return subscription
    audit_record(
        action=AuditEvent.Action.WEBHOOK_CHANGED,
        actor=actor,
        target=_target(subscription),
        request=request,
        data=diff,
    )
    return subscription


def _disable(subscription: WebhookSubscription, *, reason: str, now: datetime) -> int:
    """Switch a locked subscription off and cancel what it still had to receive."""
    subscription.active = False
    subscription.disabled_at = now
    subscription.disabled_reason = reason[:300]
    subscription.save(update_fields=["active", "disabled_at", "disabled_reason", "updated_at"])
    return WebhookDelivery.objects.filter(
        subscription=subscription,
        state__in=[WebhookDelivery.State.PENDING, WebhookDelivery.State.DELIVERING],
    ).update(state=WebhookDelivery.State.CANCELLED, lease_until=None)


@transaction.atomic
def subscription_disable(
    *,
    subscription: WebhookSubscription,
    actor: ActorLike,
    reason: str = "",
    request: HttpRequest | None = None,
) -> WebhookSubscription:
    """Stop sending; deliveries still waiting are cancelled, not kept for later."""
    subscription = _lock_subscription(subscription)
    if not subscription.active:
        raise Conflict("the subscription is already disabled", code="invalid_transition")
    reason = (reason or "").strip() or f"Disabled by {actor}"
    cancelled = _disable(subscription, reason=reason, now=timezone.now())
    audit_record(
        action=AuditEvent.Action.WEBHOOK_DISABLED,
        actor=actor,
        target=_target(subscription),
        request=request,
        data={"reason": subscription.disabled_reason, "cancelled": cancelled},
    )
    return subscription


@transaction.atomic
def subscription_enable(
    *, subscription: WebhookSubscription, actor: ActorLike, request: HttpRequest | None = None
) -> WebhookSubscription:
    """Send again from now on, with the failure count back at zero."""
    subscription = _lock_subscription(subscription)
    if subscription.active:
        raise Conflict("the subscription is already enabled", code="invalid_transition")
    subscription.active = True
    subscription.consecutive_failures = 0
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.save(
        update_fields=[
            "active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "updated_at",
        ]
    )
    audit_record(
        action=AuditEvent.Action.WEBHOOK_ENABLED,
        actor=actor,
        target=_target(subscription),
        request=request,
    )
    return subscription


def _queue(
    subscription: WebhookSubscription, *, event: str, payload: dict[str, Any], event_id: Any
) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event=event,
        event_id=event_id,
        payload=payload,
        next_attempt_at=timezone.now(),
    )


def _require_active(subscription: WebhookSubscription) -> None:
    if not subscription.active:
        raise Conflict("the subscription is disabled; enable it first", code="invalid_transition")


@transaction.atomic
def subscription_send_test(
    *, subscription: WebhookSubscription, actor: ActorLike
) -> WebhookDelivery:
    """Queue a `webhook.test` event to this subscription alone, whatever it subscribes to."""
    subscription = _lock_subscription(subscription)
    _require_active(subscription)
    payload = {"message": "A test event from Bounceback.", "requested_by": str(actor or "API")}
    return _queue(subscription, event=TEST_EVENT, payload=payload, event_id=uuid.uuid4())


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery, actor: ActorLike) -> WebhookDelivery:
    """Send an event again as a new delivery with the same event id (receivers dedupe on it)."""
    subscription = _lock_subscription(delivery.subscription)
    _require_active(subscription)
    if delivery.state in {WebhookDelivery.State.PENDING, WebhookDelivery.State.DELIVERING}:
        raise Conflict("this delivery is still being tried", code="invalid_transition")
    return _queue(
        subscription, event=delivery.event, payload=delivery.payload, event_id=delivery.event_id
    )


# --- Delivering --------------------------------------------------------------------------------


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """Exactly the bytes that are signed and sent."""
    document = {
        "id": str(delivery.event_id),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def webhook_send(delivery_id: int) -> WebhookDelivery:
    """POST one delivery this process has claimed and record the answer at once.

    A worker killed after the receiver answered but before the result
    committed causes one resend with the same event id (receivers dedupe on it).
    """
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    try:
        subscription = WebhookSubscription.objects.get(pk=delivery.subscription_id)
        if not subscription.active:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                state=WebhookDelivery.State.CANCELLED, lease_until=None, lease_owner=""
            )
            delivery.state = WebhookDelivery.State.CANCELLED
            return delivery
        body = delivery_body(delivery)
        headers = {
            "X-Bounceback-Event": delivery.event,
            "X-Bounceback-Delivery": str(delivery.pk),
            **signing.signed_headers(secret=subscription.secret, body=body),
        }
        answer = signing.post_json(
            url=subscription.url,
            body=body,
            headers=headers,
            timeout=settings.BOUNCEBACK_WEBHOOK_TIMEOUT,
        )
        accepted = time.monotonic()
        recorded: WebhookDelivery = lane_record(
            lambda: _record(delivery, answer), what=f"webhook delivery {delivery.pk}"
        )
        if answer.ok:
            window_note(time.monotonic() - accepted)
        return recorded
    finally:
        lane_release(WEBHOOK_LANE, delivery_id)


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery | None:
    """POST this one delivery now if it is due and nobody holds it; None otherwise."""
    claim = lane_claim(WEBHOOK_LANE, only_pk=delivery_id)
    if not claim.pks:
        return None
    lane_send_claimed(WEBHOOK_LANE, claim)
    return WebhookDelivery.objects.get(pk=delivery_id)


@transaction.atomic
def _record(delivery: WebhookDelivery, answer: signing.Response) -> WebhookDelivery:
    # Subscription first, then the delivery: the same order as every other writer.
    subscription = WebhookSubscription.objects.select_for_update().get(pk=delivery.subscription_id)
    now = timezone.now()
    delivery.last_status_code = answer.status
    delivery.last_response_excerpt = answer.excerpt
    delivery.lease_until = None
    delivery.lease_owner = ""
    # Disabling the subscription while this POST was in flight cancelled the
    # delivery: delivered is still delivered, but a failure is not retried.
    cancelled = (
        WebhookDelivery.objects.filter(pk=delivery.pk).values_list("state", flat=True).first()
        == WebhookDelivery.State.CANCELLED
    )
    if answer.ok:
        delivery.state = WebhookDelivery.State.SUCCEEDED
        delivery.delivered_at = now
        delivery.last_error = ""
        subscription.consecutive_failures = 0
    else:
        delivery.last_error = answer.error or f"HTTP {answer.status}"
        if cancelled:
            delivery.state = WebhookDelivery.State.CANCELLED
        elif delivery.attempts >= settings.BOUNCEBACK_WEBHOOK_MAX_ATTEMPTS:
            delivery.state = WebhookDelivery.State.FAILED
        else:
            delivery.state = WebhookDelivery.State.PENDING
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        subscription.consecutive_failures += 1
        logger.warning(
            "webhook delivery %s to %s failed: %s",
            delivery.pk,
            subscription.url,
            delivery.last_error,
        )
    delivery.save(
        update_fields=[
            "state",
            "last_status_code",
            "last_response_excerpt",
            "last_error",
            "lease_until",
            "lease_owner",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    subscription.last_delivery_at = now
    subscription.last_delivery_state = delivery.state
    subscription.save(
        update_fields=["consecutive_failures", "last_delivery_at", "last_delivery_state"]
    )
    limit = settings.BOUNCEBACK_WEBHOOK_DISABLE_AFTER
    if subscription.active and subscription.consecutive_failures >= limit:
        _auto_disable(subscription, now=now, last_error=delivery.last_error)
        if delivery.state == WebhookDelivery.State.PENDING:
            delivery.refresh_from_db(fields=["state"])
    return delivery


def _auto_disable(subscription: WebhookSubscription, *, now: datetime, last_error: str) -> None:
    from bounceback.accounts.models import User
    from bounceback.accounts.roles import Role
    from bounceback.notifications.services import notify

    reason = f"{subscription.consecutive_failures} deliveries in a row failed (last: {last_error})"
    cancelled = _disable(subscription, reason=reason, now=now)
    audit_record(
        action=AuditEvent.Action.WEBHOOK_DISABLED,
        actor=Actor.system(),
        actor_label="Bounceback",
        target=_target(subscription),
        data={"reason": subscription.disabled_reason, "cancelled": cancelled, "automatic": True},
    )
    notify(
        recipients=User.objects.filter(role__in=[Role.MANAGER, Role.ADMIN], is_active=True),
        kind="webhook_disabled",
        title=f"Webhook {subscription.name} was switched off after repeated failures",
        body=subscription.disabled_reason,
        url=f"/integrations/webhooks/{subscription.pk}/",
    )


# The partial index webhook_pending_idx covers exactly these states, written as
# literals: SQLite uses a partial index only when the query's text matches it.
_PENDING_SQL = "state IN ('pending', 'delivering')"


def webhook_describe_failure(delivery: WebhookDelivery) -> FailedDelivery:
    """A failed delivery as the failed-deliveries page shows it (links to its subscription)."""
    subscription = delivery.subscription
    return FailedDelivery(
        lane="webhooks",
        id=delivery.pk,
        what=f"Webhook event {delivery.event}",
        to=f"{subscription.name} ({subscription.url})",
        error=delivery.last_error,
        attempts=delivery.attempts,
        failed_at=delivery.next_attempt_at,
        link=f"/integrations/webhooks/{subscription.pk}/",
    )


def webhook_retry(*, pk: int, actor: ActorLike = None) -> WebhookDelivery:
    """Send a failed delivery again now, as a new delivery with the same event id."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=pk).first()
    if delivery is None:
        raise NotFound("no such webhook delivery")
    return delivery_redeliver(delivery=delivery, actor=actor)


WEBHOOK_LANE = Lane(
    name="webhooks",
    label="Webhook events",
    model=WebhookDelivery,
    waiting=(WebhookDelivery.State.PENDING,),
    active=WebhookDelivery.State.DELIVERING,
    failed=WebhookDelivery.State.FAILED,
    pending_sql=_PENDING_SQL,
    send=webhook_send,
    describe=webhook_describe_failure,
    retry=webhook_retry,
    related=("subscription",),
)


# --- Inbound channels -------------------------------------------------------------------------


def _slug(value: str) -> str:
    value = (value or "").strip().lower()
    if not _SLUG.match(value):
        raise ValidationFailed(
            "the slug is the URL part: lowercase letters, digits and dashes, up to 55",
            field="slug",
        )
    return value


def _kind(value: str) -> str:
    if value not in InboundChannel.Kind.values:
        raise ValidationFailed(
            f"kind must be one of {', '.join(InboundChannel.Kind.values)}", field="kind"
        )
    return value


def mapping_clean(mapping: Any) -> dict[str, str]:
    """Only the keys that differ from the defaults' names, each a dotted path."""
    if mapping in (None, ""):
        return {}
    if not isinstance(mapping, dict):
        raise ValidationFailed("the mapping must be a JSON object", field="mapping")
    clean: dict[str, str] = {}
    for key, path in mapping.items():
        if key not in DEFAULT_MAPPING:
            raise ValidationFailed(
                f"unknown mapping field {key!r}; use {', '.join(DEFAULT_MAPPING)}",
                field=f"mapping.{key}",
            )
        if not isinstance(path, str) or not _PATH.match(path.strip()):
            raise ValidationFailed(
                f"the path for {key} must be dotted keys such as data.from.id",
                field=f"mapping.{key}",
            )
        clean[key] = path.strip()
    return clean


@transaction.atomic
def channel_create(
    *,
    name: str,
    slug: str,
    kind: str,
    actor: ActorLike,
    mapping: dict[str, str] | None = None,
    outbound_url: str = "",
    active: bool = True,
    request: HttpRequest | None = None,
) -> InboundChannel:
    """A channel with fresh secrets: `secret` for what the provider sends us,
    `outbound_secret` (when replies go out) for what we send it."""
    clean = {
        "name": text_field(name, field="name", max_length=NAME_MAX, required=True),
        "slug": _slug(slug),
        "kind": _kind(kind),
        "mapping": mapping_clean(mapping),
        "outbound_url": url_clean(outbound_url, field="outbound_url", required=False),
    }
    if InboundChannel.objects.filter(slug=clean["slug"]).exists():
        raise Conflict(f"a channel called {clean['slug']!r} exists", field="slug", code="duplicate")
    channel = InboundChannel.objects.create(
        **clean,
        active=active,
        secret=signing.new_secret(),
        outbound_secret=signing.new_secret() if clean["outbound_url"] else "",
        created_by=actor_of(actor).user,
    )
    audit_record(
        action=AuditEvent.Action.CHANNEL_CREATED,
        actor=actor,
        target=_channel_target(channel),
        request=request,
        data={"kind": channel.kind, "outbound_url": channel.outbound_url},
    )
    return channel


@transaction.atomic
def channel_update(
    *,
    channel: InboundChannel,
    actor: ActorLike,
    name: str | None = None,
    kind: str | None = None,
    mapping: dict[str, str] | None = None,
    outbound_url: str | None = None,
    active: bool | None = None,
    request: HttpRequest | None = None,
) -> InboundChannel:
    """Change a channel. The slug stays: it names the channel's customers and messages."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = text_field(name, field="name", max_length=NAME_MAX, required=True)
    if kind is not None:
        changes["kind"] = _kind(kind)
    if mapping is not None:
        changes["mapping"] = mapping_clean(mapping)
    if outbound_url is not None:
        changes["outbound_url"] = url_clean(outbound_url, field="outbound_url", required=False)
    if active is not None:
        changes["active"] = bool(active)
    channel = InboundChannel.objects.select_for_update().get(pk=channel.pk)
    if changes.get("outbound_url") and not channel.outbound_secret:
        changes["outbound_secret"] = signing.new_secret()
    diff = {k: after for k, (_, after) in changes_apply(channel, changes).items()}
    if not diff:
        return channel
    audit_record(
        action=AuditEvent.Action.CHANNEL_CHANGED,
        actor=actor,
        target=_channel_target(channel),
        request=request,
        data={k: v for k, v in diff.items() if k != "outbound_secret"},
    )
    return channel


@transaction.atomic
def channel_rotate_secret(
    *,
    channel: InboundChannel,
    actor: ActorLike,
    which: str = "inbound",
    request: HttpRequest | None = None,
) -> InboundChannel:
    """A new secret. The old inbound one keeps verifying for ROTATION_GRACE so the
    provider can be updated without losing messages; the old outbound one stops at once
    (we sign with the new one from now on)."""
    if which not in {"inbound", "outbound"}:
        raise ValidationFailed("which must be inbound or outbound", field="which")
    channel = InboundChannel.objects.select_for_update().get(pk=channel.pk)
    now = timezone.now()
    if which == "inbound":
        channel.previous_secret = channel.secret
        channel.previous_secret_until = now + ROTATION_GRACE
        channel.secret = signing.new_secret()
        channel.secret_rotated_at = now
        fields = ["secret", "previous_secret", "previous_secret_until", "secret_rotated_at"]
    else:
        if not channel.outbound_url:
            raise ValidationFailed(
                "the channel sends no replies; set an outbound URL first", field="outbound_url"
            )
        channel.outbound_secret = signing.new_secret()
        fields = ["outbound_secret"]
    channel.save(update_fields=[*fields, "updated_at"])
    audit_record(
        action=AuditEvent.Action.CHANNEL_SECRET_ROTATED,
        actor=actor,
        target=_channel_target(channel),
        request=request,
        data={"which": which},
    )
    return channel


@transaction.atomic
def channel_revoke_previous_secret(
    *, channel: InboundChannel, actor: ActorLike, request: HttpRequest | None = None
) -> InboundChannel:
    """End a rotation's grace at once: only the current inbound secret verifies from now on.

    For when the old secret leaked (the reason to rotate): waiting out
    ROTATION_GRACE would leave it working for a day. Harmless when no old
    secret works any more (nothing is changed or audited then).
    """
    channel = InboundChannel.objects.select_for_update().get(pk=channel.pk)
    now = timezone.now()
    still_working = bool(
        channel.previous_secret
        and channel.previous_secret_until
        and channel.previous_secret_until > now
    )
    if not channel.previous_secret and channel.previous_secret_until is None:
        return channel
    channel.previous_secret = ""
    channel.previous_secret_until = None
    channel.save(update_fields=["previous_secret", "previous_secret_until", "updated_at"])
    if still_working:
        audit_record(
            action=AuditEvent.Action.CHANNEL_PREVIOUS_SECRET_REVOKED,
            actor=actor,
            target=_channel_target(channel),
            request=request,
            data={},
        )
    return channel
