"""Factories for webhook subscriptions, deliveries and inbound channels.

They write rows directly with fresh secrets, as the services would; tests of
the services themselves call the services.
"""

from __future__ import annotations

import uuid

import factory
from django.utils import timezone

from bounceback.webhooks.models import InboundChannel, WebhookDelivery, WebhookSubscription
from bounceback.webhooks.signing import new_secret


class WebhookSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookSubscription

    name = factory.Sequence(lambda n: f"Receiver {n}")
    url = "http://127.0.0.1:9/hook"
    events = factory.LazyFunction(lambda: ["*"])
    secret = factory.LazyFunction(new_secret)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    subscription = factory.SubFactory(WebhookSubscriptionFactory)
    event = "case.opened"
    event_id = factory.LazyFunction(uuid.uuid4)
    payload = factory.LazyFunction(lambda: {"case": {"id": 1}})
    next_attempt_at = factory.LazyFunction(timezone.now)


class InboundChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InboundChannel

    name = factory.Sequence(lambda n: f"Provider {n}")
    slug = factory.Sequence(lambda n: f"provider-{n}")
    kind = InboundChannel.Kind.CHAT
    secret = factory.LazyFunction(new_secret)
    outbound_secret = factory.LazyFunction(new_secret)
