"""Server-side request forgery: Bounceback never POSTs to its own machine or networks.

Webhook subscriptions and channels' outbound URLs are typed by staff; each
test here fails if a URL could make the server reach an internal address.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from bounceback.accounts.roles import Role
from bounceback.errors import ValidationFailed
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import outbox_deliver
from bounceback.testing.factories import UserFactory
from bounceback.testing.webhooks_factories import (
    WebhookDeliveryFactory,
    WebhookSubscriptionFactory,
)
from bounceback.webhooks import egress
from bounceback.webhooks.models import WebhookDelivery
from bounceback.webhooks.services import (
    channel_create,
    subscription_create,
    subscription_update,
    webhook_deliver,
)

pytestmark = pytest.mark.django_db

INTERNAL = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.1.2.3:8080/", "loopback"),
    ("http://localhost:6379/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://10.0.0.5/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://169.254.10.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fd00::1]/", "unique-local"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://100.100.100.200/", "metadata"),
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0:8000/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://100.64.0.1/", "reserved"),
]


def _resolving(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Make every name resolve to the next of `answers` (the last one repeats)."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
        asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(egress, "_resolve", resolve)
    return asked


@pytest.mark.parametrize(("url", "kind"), INTERNAL)
def test_given_an_internal_url_when_a_subscription_is_saved_then_the_url_is_refused(
    admin_user, url, kind
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        subscription_create(name="Probe", url=url, events=["*"], actor=admin_user)

    assert refused.value.field == "url"
    assert kind in refused.value.message
    assert "BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS" in refused.value.message


def test_given_a_public_address_then_it_is_accepted(admin_user) -> None:
    assert egress.address_refusal("93.184.216.34") is None
    assert egress.address_refusal("2606:2800:220:1:248:1893:25c8:1946") is None
    subscription = subscription_create(
        name="CRM", url="https://93.184.216.34/hook", events=["*"], actor=admin_user
    )
    assert subscription.url == "https://93.184.216.34/hook"


def test_given_a_name_resolving_inside_then_saving_is_refused(admin_user, monkeypatch) -> None:
    _resolving(monkeypatch, "10.1.2.3")

    with pytest.raises(ValidationFailed) as refused:
        subscription_create(
            name="CRM", url="https://crm.example.com/hook", events=["*"], actor=admin_user
        )

    assert refused.value.field == "url"
    assert "crm.example.com resolves to 10.1.2.3" in refused.value.message


def test_given_an_existing_subscription_then_changing_its_url_inside_is_refused(
    admin_user,
) -> None:
    subscription = WebhookSubscriptionFactory(url="https://93.184.216.34/hook")

    with pytest.raises(ValidationFailed) as refused:
        subscription_update(
            subscription=subscription, url="http://169.254.169.254/", actor=admin_user
        )

    assert refused.value.field == "url"
    subscription.refresh_from_db()
    assert subscription.url == "https://93.184.216.34/hook"


def test_given_a_channel_with_an_internal_outbound_url_then_it_is_refused(admin_user) -> None:
    with pytest.raises(ValidationFailed) as refused:
        channel_create(
            name="SMS", slug="sms", kind="sms", outbound_url="http://[::1]:25/", actor=admin_user
        )

    assert refused.value.field == "outbound_url"


def test_given_the_api_then_internal_urls_are_a_422_naming_the_field(make_token_client) -> None:
    client = make_token_client("webhooks:write")

    subscription = client.post(
        "/api/webhooks/subscriptions",
        {"name": "Probe", "url": "http://127.0.0.1:6379/", "events": ["*"]},
        content_type="application/json",
    )
    channel = client.post(
        "/api/webhooks/channels",
        {"name": "Chat", "slug": "chat", "kind": "chat", "outbound_url": "http://10.0.0.1/"},
        content_type="application/json",
    )

    assert subscription.status_code == 422
    assert subscription.json()["field"] == "url"
    assert channel.status_code == 422
    assert channel.json()["field"] == "outbound_url"


def test_given_the_page_then_an_internal_url_is_an_error_on_the_field(client) -> None:
    client.force_login(UserFactory(role=Role.MANAGER))

    response = client.post(
        "/integrations/webhooks/new/",
        {"name": "Probe", "url": "http://169.254.169.254/latest/", "events": ["case.opened"]},
    )

    assert response.status_code == 200
    assert "metadata" in str(response.context["form"].errors["url"])


# --- At connect time ---------------------------------------------------------------------------


def test_given_a_stored_loopback_url_when_delivering_then_nothing_is_sent(
    receiver, settings
) -> None:
    # A URL stored before this check existed, or by hand, still never reaches inside.
    settings.BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS = []
    delivery = WebhookDeliveryFactory(subscription=WebhookSubscriptionFactory(url=receiver.url))

    webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.state == WebhookDelivery.State.PENDING
    assert delivery.last_status_code is None
    assert "loopback" in delivery.last_error


def test_given_a_name_that_rebinds_to_loopback_then_the_connection_is_refused(
    receiver, settings, admin_user, monkeypatch
) -> None:
    # Public when saved, 127.0.0.1 when the worker connects (DNS rebinding).
    port = receiver.url.split(":")[2].split("/")[0]
    asked = _resolving(monkeypatch, "93.184.216.34", "127.0.0.1")
    subscription = subscription_create(
        name="CRM", url=f"http://rebind.example.com:{port}/hook", events=["*"], actor=admin_user
    )
    settings.BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS = []
    delivery = WebhookDeliveryFactory(subscription=subscription)

    webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert asked == ["rebind.example.com", "rebind.example.com"]
    assert receiver.requests == []
    assert "refused to connect to rebind.example.com (127.0.0.1)" in delivery.last_error


def test_given_loopback_allowed_by_the_administrator_then_it_is_saved_and_delivered(
    receiver, settings, admin_user
) -> None:
    settings.BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    subscription = subscription_create(
        name="Local", url=receiver.url, events=["*"], actor=admin_user
    )
    delivery = WebhookDeliveryFactory(subscription=subscription)

    webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.SUCCEEDED
    assert len(receiver.requests) == 1


def test_given_a_redirect_inside_then_it_is_not_followed(receiver) -> None:
    receiver.status = 302
    receiver.headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
    delivery = WebhookDeliveryFactory(subscription=WebhookSubscriptionFactory(url=receiver.url))

    webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert len(receiver.requests) == 1
    assert delivery.last_status_code == 302
    assert delivery.state == WebhookDelivery.State.PENDING


def test_given_a_long_answer_then_the_log_keeps_only_the_status_line_and_a_short_clean_excerpt(
    receiver,
) -> None:
    receiver.status = 500
    receiver.answer = (
        b"<html><body><h1>Internal error</h1>\n\x00\x1b[31m"
        + b"x" * 200
        + b" AWS_SECRET_ACCESS_KEY=abc</body></html>"
    )
    delivery = WebhookDeliveryFactory(subscription=WebhookSubscriptionFactory(url=receiver.url))

    webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    excerpt = delivery.last_response_excerpt
    assert excerpt.startswith("500 Internal Server Error: Internal error")
    assert len(excerpt) <= 120
    assert "AWS_SECRET" not in excerpt
    assert "<" not in excerpt and "\x00" not in excerpt and "\x1b" not in excerpt


def test_given_a_channel_whose_outbound_url_is_loopback_then_replies_are_not_sent(
    receiver, settings, admin_user
) -> None:
    from bounceback.webhooks.tests.test_delivery import _reply_to_chat

    _, _, message = _reply_to_chat(receiver, admin_user)
    settings.BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS = []

    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert receiver.requests == []
    assert message.state != OutboundMessage.State.SENT
    assert "loopback" in message.last_error
