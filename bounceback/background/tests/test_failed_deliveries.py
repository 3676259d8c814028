"""Deliveries that gave up: listed for a person, retried on request; stalls told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.breakdowns.jobs import outreach_watch
from bounceback.breakdowns.models import BreakdownEvent
from bounceback.breakdowns.selectors import breakdown_progress
from bounceback.breakdowns.services import breakdown_confirm_outreach, breakdown_outreach_run
from bounceback.notifications.models import Notification
from bounceback.outbox.models import ChannelStatus, OutboundMessage
from bounceback.outbox.services import outbox_enqueue
from bounceback.testing.breakdowns_factories import make_breakdown
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.webhooks_factories import (
    WebhookDeliveryFactory,
    WebhookSubscriptionFactory,
)
from bounceback.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def _failed_message(n: int) -> OutboundMessage:
    customer = CustomerFactory(email=f"guest{n}@example.com")
    message = outbox_enqueue(
        channel="email",
        to_address=f"guest{n}@example.com",
        subject=f"Sorry {n}",
        body_text="Sorry about the power cut.",
        customer=customer,
    )
    OutboundMessage.objects.filter(pk=message.pk).update(
        state=OutboundMessage.State.FAILED,
        attempts=1,
        last_error="SMTPRecipientsRefused: recipient refused: 550 5.1.1 No such mailbox",
    )
    return message


def test_the_failed_deliveries_page_lists_both_kinds_with_their_reason(
    lead_client: Client, django_assert_max_num_queries
) -> None:
    for n in range(3):
        _failed_message(n)
    WebhookDeliveryFactory(
        subscription=WebhookSubscriptionFactory(name="CRM"),
        state=WebhookDelivery.State.FAILED,
        last_error="HTTP 500",
    )

    with django_assert_max_num_queries(12):
        response = lead_client.get("/deliveries/failed/")

    text = response.content.decode()
    assert response.status_code == 200
    assert "550 5.1.1 No such mailbox" in text
    assert "Webhook event case.opened" in text and "HTTP 500" in text
    assert text.count("Retry now") == 4


def test_retrying_a_failed_message_queues_it_again(lead_client: Client) -> None:
    message = _failed_message(1)

    response = lead_client.post(f"/deliveries/failed/outbox/{message.pk}/retry/")

    message.refresh_from_db()
    assert response.status_code == 302
    assert message.state == OutboundMessage.State.QUEUED
    assert message.next_attempt_at <= timezone.now()


def test_agents_cannot_see_failed_deliveries(agent_client: Client) -> None:
    assert agent_client.get("/deliveries/failed/").status_code == 403


def test_the_api_lists_and_retries_failed_deliveries(make_token_client) -> None:
    message = _failed_message(1)
    reader = make_token_client("deliveries:read")
    writer = make_token_client("deliveries:write")

    listed = reader.get("/api/deliveries/failed").json()
    refused = reader.post(f"/api/deliveries/outbox/{message.pk}/retry")
    retried = writer.post(f"/api/deliveries/outbox/{message.pk}/retry")
    unknown = writer.post("/api/deliveries/pigeons/1/retry")

    outbox = next(group for group in listed if group["lane"] == "outbox")
    assert outbox["total"] == 1 and outbox["items"][0]["id"] == message.pk
    assert "550" in outbox["items"][0]["error"]
    assert refused.status_code == 403
    assert retried.status_code == 202
    assert unknown.status_code == 404 and unknown.json()["field"] == "lane"
    message.refresh_from_db()
    assert message.state == OutboundMessage.State.QUEUED


def test_a_stalled_outreach_shows_on_its_page_and_tells_its_owner_once() -> None:
    lead = UserFactory(role=Role.LEAD)
    breakdown = make_breakdown(actor=lead, customers=2)
    breakdown = breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    # Given its messages fell due ten minutes ago and nobody sent them (no worker)
    OutboundMessage.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=10))

    reason = breakdown_progress(breakdown=breakdown).stalled
    told = [outreach_watch(), outreach_watch()]

    assert "is a worker running" in reason
    assert told == [1, 0]
    assert Notification.objects.filter(recipient=lead, kind="outreach_stalled").count() == 1
    assert BreakdownEvent.objects.filter(breakdown=breakdown, kind="outreach_stalled").exists()

    # When the messages go out, the timeline says it moves again.
    OutboundMessage.objects.update(state=OutboundMessage.State.SENT)
    outreach_watch()
    assert BreakdownEvent.objects.filter(breakdown=breakdown, kind="outreach_moving").exists()


def test_a_failing_channel_is_named_as_the_stall() -> None:
    lead = UserFactory(role=Role.LEAD)
    breakdown = make_breakdown(actor=lead, customers=1)
    breakdown = breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    ChannelStatus.objects.update_or_create(
        channel="email",
        defaults={
            "next_at": timezone.now(),
            "failing_since": timezone.now() - timedelta(minutes=5),
            "last_error": "ConnectionRefusedError: [Errno 111] Connection refused",
        },
    )

    reason = breakdown_progress(breakdown=breakdown).stalled

    assert "Sending by email has been failing" in reason
    assert "Connection refused" in reason
