from __future__ import annotations

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.testing.factories import UserFactory
from bounceback.testing.webhooks_factories import (
    InboundChannelFactory,
    WebhookDeliveryFactory,
    WebhookSubscriptionFactory,
)
from bounceback.webhooks.models import InboundChannel, WebhookSubscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client() -> Client:
    client = Client()
    client.force_login(UserFactory(role=Role.MANAGER))
    return client


def test_given_an_agent_then_integrations_are_forbidden_and_not_in_the_nav(agent_client) -> None:
    assert agent_client.get("/integrations/").status_code == 403
    assert agent_client.get("/integrations/webhooks/new/").status_code == 403
    assert b"Integrations" not in agent_client.get("/").content


def test_given_many_rows_then_the_integrations_page_costs_a_fixed_number_of_queries(
    manager_client, django_assert_max_num_queries
) -> None:
    WebhookSubscriptionFactory.create_batch(5)
    InboundChannelFactory.create_batch(5)

    with django_assert_max_num_queries(8):
        response = manager_client.get("/integrations/")

    assert response.status_code == 200
    assert b"Receiver" in response.content and b"Provider" in response.content


def test_given_a_new_subscription_then_its_secret_is_shown_once(manager_client) -> None:
    response = manager_client.post(
        "/integrations/webhooks/new/",
        {"name": "CRM", "url": "https://crm.example.com/hook", "events": ["case.opened"]},
        follow=True,
    )

    subscription = WebhookSubscription.objects.get()
    assert subscription.secret.encode() in response.content
    again = manager_client.get(f"/integrations/webhooks/{subscription.pk}/")
    assert subscription.secret.encode() not in again.content
    assert AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_CREATED).exists()


def test_given_a_bad_url_then_the_form_says_so_on_the_field(manager_client) -> None:
    response = manager_client.post(
        "/integrations/webhooks/new/",
        {"name": "CRM", "url": "ftp://crm.example.com", "events": ["case.opened"]},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    assert not WebhookSubscription.objects.exists()


def test_given_a_long_delivery_log_then_the_detail_page_is_paged_with_fixed_queries(
    manager_client, django_assert_max_num_queries
) -> None:
    subscription = WebhookSubscriptionFactory()
    WebhookDeliveryFactory.create_batch(30, subscription=subscription)

    with django_assert_max_num_queries(10):
        response = manager_client.get(f"/integrations/webhooks/{subscription.pk}/")

    assert len(response.context["deliveries"]) == 25
    assert b"Page 1 of 2" in response.content


def test_given_a_subscription_then_disable_test_and_enable_work_from_the_page(
    manager_client,
) -> None:
    subscription = WebhookSubscriptionFactory()
    base = f"/integrations/webhooks/{subscription.pk}"

    manager_client.post(f"{base}/test/")
    manager_client.post(f"{base}/disable/", {"reason": "receiver moving"})
    subscription.refresh_from_db()
    assert not subscription.active
    assert subscription.disabled_reason == "receiver moving"
    assert subscription.deliveries.get().state == "cancelled"

    manager_client.post(f"{base}/enable/")
    subscription.refresh_from_db()
    assert subscription.active


def test_given_a_channel_then_its_page_shows_the_url_and_a_signed_curl(manager_client) -> None:
    response = manager_client.post(
        "/integrations/channels/new/",
        {
            "name": "SMS",
            "slug": "sms",
            "kind": "sms",
            "mapping": '{"text": "Body", "sender_id": "From", "message_id": "MessageSid"}',
            "outbound_url": "https://sms.example.com/send",
            "active": "on",
        },
        follow=True,
    )

    channel = InboundChannel.objects.get()
    assert channel.mapping["text"] == "Body"
    assert channel.secret.encode() in response.content
    assert b"/hooks/sms/" in response.content
    assert b"X-Bounceback-Signature" in response.content

    rotated = manager_client.post(f"/integrations/channels/{channel.pk}/rotate/", follow=True)
    channel.refresh_from_db()
    assert channel.secret.encode() in rotated.content
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CHANNEL_SECRET_ROTATED).exists()


def test_given_a_bad_mapping_then_the_form_names_the_mapping(manager_client) -> None:
    response = manager_client.post(
        "/integrations/channels/new/",
        {"name": "SMS", "slug": "sms", "kind": "sms", "mapping": '{"colour": "x"}'},
    )

    assert response.context["form"].errors["mapping"]
    assert not InboundChannel.objects.exists()


# --- API -------------------------------------------------------------------------------------


def test_given_a_token_when_creating_a_subscription_then_the_secret_comes_back_once(
    make_token_client,
) -> None:
    client = make_token_client("webhooks:write")

    created = client.post(
        "/api/webhooks/subscriptions",
        {"name": "CRM", "url": "https://crm.example.com/hook", "events": ["*"]},
        content_type="application/json",
    )

    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    read = client.get(f"/api/webhooks/subscriptions/{created.json()['id']}")
    assert read.json()["secret"] != secret


def test_given_an_unknown_event_then_422_names_it(make_token_client) -> None:
    client = make_token_client("webhooks:write")

    response = client.post(
        "/api/webhooks/subscriptions",
        {"name": "CRM", "url": "https://crm.example.com/hook", "events": ["case.exploded"]},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["field"] == "events[0]"


def test_given_a_read_token_then_lists_page_with_fixed_queries_and_writes_are_refused(
    make_token_client, django_assert_max_num_queries
) -> None:
    client = make_token_client("webhooks:read")
    subscription = WebhookSubscriptionFactory()
    WebhookDeliveryFactory.create_batch(5, subscription=subscription)
    InboundChannelFactory.create_batch(3)

    with django_assert_max_num_queries(4):
        deliveries = client.get(f"/api/webhooks/subscriptions/{subscription.pk}/deliveries?limit=3")
    with django_assert_max_num_queries(4):
        channels = client.get("/api/webhooks/channels")
    with django_assert_max_num_queries(4):
        subscriptions = client.get("/api/webhooks/subscriptions")

    assert len(deliveries.json()["items"]) == 3
    assert deliveries.json()["next_cursor"]
    assert len(channels.json()["items"]) == 3
    assert all("…" in c["secret"] for c in channels.json()["items"])
    assert len(subscriptions.json()["items"]) == 1
    refused = client.post(
        f"/api/webhooks/subscriptions/{subscription.pk}/disable",
        {},
        content_type="application/json",
    )
    assert refused.status_code == 403


def test_given_a_channel_via_the_api_then_rotate_returns_the_new_secret(make_token_client) -> None:
    client = make_token_client("webhooks:write")
    created = client.post(
        "/api/webhooks/channels",
        {"name": "Chat", "slug": "chat", "kind": "chat"},
        content_type="application/json",
    ).json()

    rotated = client.post(
        f"/api/webhooks/channels/{created['id']}/rotate-secret",
        {"which": "inbound"},
        content_type="application/json",
    )

    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_until"]
    patched = client.patch(
        f"/api/webhooks/channels/{created['id']}",
        {"kind": "pager"},
        content_type="application/json",
    )
    assert patched.status_code == 422
    assert patched.json()["field"] == "kind"
