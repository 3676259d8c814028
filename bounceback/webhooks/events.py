"""Outbound webhook events: the one call services make when something happens.

Contract for callers (cases, breakdowns, portal): call `webhook_publish` inside
the transaction of the write it describes, so a delivery is recorded exactly
when the write commits. It must never raise on account of subscribers.

Payloads are small and stable (documented in docs/channels.md): build them
with `case_payload` / `breakdown_payload` so every event about a case has the
same shape.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.utils import timezone

# The catalogue: what a subscription may ask for, with the line shown when subscribing.
EVENTS: dict[str, str] = {
    "case.opened": "A case was opened, by staff, the API, email, the web form or a channel.",
    "case.apologised": "The first reply, the apology, was sent to the customer.",
    "case.breached": "A case missed one of its targets (apology, fix, update, follow-up...).",
    "case.fixed": "The problem was marked fixed and the customer told.",
    "case.closed": "A case was closed.",
    "case.reopened": "A closed case was reopened.",
    "breakdown.declared": "A breakdown hitting many customers was declared.",
    "breakdown.all_clear": "A breakdown is over: the all-clear went to everyone affected.",
    "breakdown.suspected": "Discovery found a spike (many customers, one category, site, "
    "product or channel) that may be a breakdown; it waits for a person to declare or dismiss.",
    "survey.answered": "A customer answered the follow-up survey.",
    "compensation.granted": "A gesture (refund, voucher...) took effect on a case.",
    "approval.decided": "An approver approved, reduced or refused a grant over an allowance.",
    "story.published": "A recovery story was published to the story library.",
}
ALL = "*"
TEST_EVENT = "webhook.test"


def case_payload(case: Any) -> dict[str, Any]:
    """The `data` of every case.* event. Reads only the case and its customer."""
    return case_payload_of(
        case_id=case.pk,
        reference=case.reference,
        status=case.status,
        severity=case.severity,
        channel=case.channel,
        summary=case.summary,
        customer_id=case.customer_id,
        customer_name=case.customer.name,
    )


def case_payload_of(
    *,
    case_id: int,
    reference: str | None,
    status: str,
    severity: str,
    channel: str,
    summary: str,
    customer_id: int,
    customer_name: str,
) -> dict[str, Any]:
    """case_payload from the values, for set-based writers that hold no Case objects."""
    return {
        "case": {
            "id": case_id,
            "reference": reference,
            "status": status,
            "severity": severity,
            "channel": channel,
            "summary": summary,
            "customer": {"id": customer_id, "name": customer_name},
            "url": f"{settings.BOUNCEBACK_PUBLIC_URL}/cases/{case_id}/",
        }
    }


def breakdown_payload(breakdown: Any) -> dict[str, Any]:
    """The `data` of every breakdown.* event."""
    return {
        "breakdown": {
            "id": breakdown.pk,
            "reference": breakdown.reference,
            "title": breakdown.title,
            "status": breakdown.status,
            "severity": breakdown.severity,
            "affected_count": breakdown.affected_count,
            "url": f"{settings.BOUNCEBACK_PUBLIC_URL}/breakdowns/{breakdown.pk}/",
        }
    }


def webhook_publish(*, event: str, payload: dict[str, Any]) -> None:
    """Record one delivery per active subscription wanting `event`; the workers'
    webhook lane sends them once the caller's transaction commits.

    Costs one query when nobody subscribes. Nothing is cached per process, so
    a subscription made in another worker counts at once.
    """
    webhook_publish_many(event=event, payloads=[payload])


def webhook_publish_many(*, event: str, payloads: Sequence[dict[str, Any]]) -> None:
    """webhook_publish for many events of one kind (a set-based write): one event id
    per payload, one query when nobody subscribes, one bulk insert when some do."""
    from bounceback.webhooks.models import WebhookDelivery, WebhookSubscription

    if not payloads:
        return
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(active=True).only("id", "events")
        if s.wants(event)
    ]
    if not subscriptions:
        return
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                subscription_id=s.pk,
                event=event,
                # One event, one id: a receiver subscribed twice can still dedupe.
                event_id=event_id,
                payload=payload,
                next_attempt_at=now,
            )
            for payload, event_id in ((p, uuid.uuid4()) for p in payloads)
            for s in subscriptions
        ],
        batch_size=1000,
    )
