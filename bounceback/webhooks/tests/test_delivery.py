from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.background.deliveries import lane_run_due
from bounceback.cases.services import case_open
from bounceback.notifications.models import Notification
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import outbox_deliver
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.webhooks_factories import (
    InboundChannelFactory,
    WebhookDeliveryFactory,
    WebhookSubscriptionFactory,
)
from bounceback.webhooks.events import webhook_publish
from bounceback.webhooks.models import WebhookDelivery
from bounceback.webhooks.services import (
    WEBHOOK_LANE,
    subscription_create,
    subscription_enable,
    webhook_deliver,
)
from bounceback.webhooks.signing import sign

pytestmark = pytest.mark.django_db


def _due(delivery: WebhookDelivery) -> None:
    """Move time on: the retry is due now (no sleeping)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_given_subscriptions_when_an_event_is_published_then_only_matching_active_ones_get_it(
    django_assert_max_num_queries,
) -> None:
    everything = WebhookSubscriptionFactory(events=["*"])
    opened = WebhookSubscriptionFactory(events=["case.opened"])
    WebhookSubscriptionFactory(events=["case.closed"])
    WebhookSubscriptionFactory(events=["*"], active=False)

    with django_assert_max_num_queries(2):
        webhook_publish(event="case.opened", payload={"case": {"id": 1}})

    rows = WebhookDelivery.objects.all()
    assert {d.subscription_id for d in rows} == {everything.pk, opened.pk}
    assert len({d.event_id for d in rows}) == 1


def test_given_no_subscription_then_publishing_costs_one_query(
    django_assert_num_queries,
) -> None:
    with django_assert_num_queries(1):
        webhook_publish(event="case.opened", payload={})


def test_given_a_subscription_when_a_case_opens_then_the_receiver_gets_a_signed_event(
    receiver, admin_user, django_capture_on_commit_callbacks
) -> None:
    subscription = subscription_create(
        name="CRM", url=receiver.url, events=["case.opened"], actor=admin_user
    )
    customer = CustomerFactory(name="Ada Lovelace")
    case = case_open(customer=customer, summary="Parcel lost", actor=admin_user)
    delivery = WebhookDelivery.objects.get(subscription=subscription)

    webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.SUCCEEDED
    assert delivery.last_status_code == 200
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["event"] == "case.opened"
    assert body["id"] == str(delivery.event_id)
    assert body["data"]["case"]["reference"] == case.reference
    assert body["data"]["case"]["customer"]["name"] == "Ada Lovelace"
    assert request.headers["X-Bounceback-Event"] == "case.opened"
    assert request.headers["X-Bounceback-Delivery"] == str(delivery.pk)
    timestamp = request.headers["X-Bounceback-Timestamp"]
    expected = sign(secret=subscription.secret, timestamp=timestamp, body=request.body)
    assert request.headers["X-Bounceback-Signature"] == expected


def test_given_a_failing_receiver_then_retries_back_off_and_end_failed(receiver, settings) -> None:
    settings.BOUNCEBACK_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.status = 503
    delivery = WebhookDeliveryFactory(subscription=WebhookSubscriptionFactory(url=receiver.url))

    webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.PENDING
    assert delivery.last_status_code == 503
    first_wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=25) < first_wait <= timedelta(seconds=30)

    assert webhook_deliver(delivery_id=delivery.pk) is None  # not due yet: nothing sent
    assert len(receiver.requests) == 1

    _due(delivery)
    webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    second_wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=55) < second_wait <= timedelta(seconds=60)

    _due(delivery)
    webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.FAILED
    assert delivery.attempts == 3
    assert len(receiver.requests) == 3


def test_given_a_retry_falls_due_then_the_lane_sends_it_once(receiver) -> None:
    delivery = WebhookDeliveryFactory(subscription=WebhookSubscriptionFactory(url=receiver.url))

    assert lane_run_due(WEBHOOK_LANE) == 1
    assert lane_run_due(WEBHOOK_LANE) == 0
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.SUCCEEDED
    assert len(receiver.requests) == 1


def test_given_repeated_failures_then_the_subscription_is_disabled_audited_and_managers_told(
    settings,
) -> None:
    settings.BOUNCEBACK_WEBHOOK_DISABLE_AFTER = 2
    manager = UserFactory(role=Role.MANAGER)
    # Nothing listens on port 9 (discard) here: a refused connection.
    subscription = WebhookSubscriptionFactory(url="http://127.0.0.1:9/hook")
    first = WebhookDeliveryFactory(subscription=subscription)
    second = WebhookDeliveryFactory(subscription=subscription)
    waiting = WebhookDeliveryFactory(
        subscription=subscription, next_attempt_at=timezone.now() + timedelta(hours=1)
    )

    webhook_deliver(delivery_id=first.pk)
    webhook_deliver(delivery_id=second.pk)

    subscription.refresh_from_db()
    assert not subscription.active
    assert "2 deliveries in a row failed" in subscription.disabled_reason
    waiting.refresh_from_db()
    assert waiting.state == WebhookDelivery.State.CANCELLED
    audit = AuditEvent.objects.get(action=AuditEvent.Action.WEBHOOK_DISABLED)
    assert audit.actor is None
    assert audit.data["automatic"] is True
    assert Notification.objects.filter(recipient=manager, kind="webhook_disabled").exists()


def test_given_a_disabled_subscription_when_re_enabled_then_failures_reset(admin_user) -> None:
    subscription = WebhookSubscriptionFactory(
        active=False, consecutive_failures=15, disabled_at=timezone.now(), disabled_reason="x"
    )

    subscription_enable(subscription=subscription, actor=admin_user)

    subscription.refresh_from_db()
    assert subscription.active
    assert subscription.consecutive_failures == 0
    assert AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_ENABLED).exists()


def test_given_a_success_after_failures_then_the_failure_count_resets(receiver) -> None:
    subscription = WebhookSubscriptionFactory(url=receiver.url, consecutive_failures=4)
    delivery = WebhookDeliveryFactory(subscription=subscription)

    webhook_deliver(delivery_id=delivery.pk)

    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0
    assert subscription.last_delivery_state == "succeeded"


# --- Replies through the JSON adapter ------------------------------------------------------


def _reply_to_chat(receiver, admin_user):  # type: ignore[no-untyped-def]
    from bounceback.cases.services import case_apologise, case_log_customer_message

    channel = InboundChannelFactory(slug="chat", kind="chat", outbound_url=receiver.url)
    customer = CustomerFactory(name="Ada")
    case = case_open(customer=customer, summary="Cold food", actor=admin_user, channel="chat")
    case_log_customer_message(
        case=case,
        actor=None,
        body="My food was cold",
        channel="chat",
        source="hook:chat",
        external_id="in-1",
        metadata={"sender": "u-7", "thread": "conv-3"},
    )
    case_apologise(
        case=case,
        actor=admin_user,
        body="Ada, I'm sorry your food was cold: we left it waiting. We will refund you today.",
        channel="chat",
        override_reason="test",
    )
    return channel, case, OutboundMessage.objects.get(channel="chat")


def test_given_a_chat_reply_then_the_provider_gets_it_signed_with_the_outbound_secret(
    receiver, admin_user
) -> None:
    channel, case, message = _reply_to_chat(receiver, admin_user)

    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == OutboundMessage.State.SENT
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["channel"] == "chat"
    assert body["to"] == "u-7"
    assert body["case"] == case.reference
    assert body["in_reply_to"] == "in-1"
    assert body["thread"] == "conv-3"
    assert "sorry" in body["text"]
    timestamp = request.headers["X-Bounceback-Timestamp"]
    assert request.headers["X-Bounceback-Signature"] == sign(
        secret=channel.outbound_secret, timestamp=timestamp, body=request.body
    )


@pytest.mark.parametrize(
    ("status", "state"), [(400, "failed"), (429, "retrying"), (502, "retrying")]
)
def test_given_the_provider_refuses_then_4xx_is_permanent_and_the_rest_retried(
    receiver, admin_user, status, state
) -> None:
    receiver.status = status
    _, _, message = _reply_to_chat(receiver, admin_user)

    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == state
    assert str(status) in message.last_error
