"""First response time: from the customer's first message to the first reply from staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceback.dashboards.models import Conversation
from bounceback.dashboards.services import conversations_refresh
from bounceback.interactions.models import Interaction
from bounceback.testing.factories import CustomerFactory, InteractionFactory, UserFactory

pytestmark = pytest.mark.django_db

OUT = Interaction.Direction.OUTBOUND


def test_the_first_staff_reply_counts_and_automatic_messages_do_not() -> None:
    customer, staff = CustomerFactory(), UserFactory()
    start = timezone.now() - timedelta(hours=5)
    InteractionFactory(customer=customer, thread_ref="t-1", occurred_at=start)
    InteractionFactory(
        customer=customer,
        thread_ref="t-1",
        direction=OUT,
        source="bounceback",
        occurred_at=start + timedelta(minutes=1),
    )
    InteractionFactory(
        customer=customer,
        thread_ref="t-1",
        direction=OUT,
        author=staff,
        occurred_at=start + timedelta(minutes=12),
    )
    InteractionFactory(customer=customer, thread_ref="t-1", occurred_at=start + timedelta(hours=1))

    conversations_refresh()

    row = Conversation.objects.get(key="thread:t-1")
    assert row.response_seconds == 12 * 60
    assert row.first_customer_at == start


def test_history_arriving_out_of_order_is_recounted() -> None:
    customer = CustomerFactory()
    start = timezone.now() - timedelta(days=3)
    InteractionFactory(
        customer=customer,
        thread_ref="chat-9",
        direction=OUT,
        author_name="Ava",
        source="helpdesk",
        occurred_at=start + timedelta(minutes=30),
    )
    conversations_refresh()
    assert Conversation.objects.get(key="thread:chat-9").response_seconds is None

    # The customer's message comes in with a later import.
    InteractionFactory(customer=customer, thread_ref="chat-9", occurred_at=start)
    conversations_refresh()

    assert Conversation.objects.get(key="thread:chat-9").response_seconds == 30 * 60


def test_the_api_gives_first_response_for_any_period(make_token_client) -> None:  # type: ignore[no-untyped-def]
    staff = UserFactory()
    from bounceback.apitokens.services import token_create
    from conftest import TokenClient

    old = timezone.now() - timedelta(days=200)
    for minutes in (4, 50):
        customer = CustomerFactory()
        InteractionFactory(customer=customer, thread_ref=f"m{minutes}", occurred_at=old)
        InteractionFactory(
            customer=customer,
            thread_ref=f"m{minutes}",
            direction=OUT,
            author=staff,
            occurred_at=old + timedelta(minutes=minutes),
        )
    InteractionFactory(customer=CustomerFactory(), thread_ref="unanswered", occurred_at=old)
    conversations_refresh()
    manager = UserFactory(role="manager")
    _, plaintext = token_create(name="bi", scopes=["dashboards:read"], actor=manager)
    client = TokenClient(plaintext)
    day = (old.date() - timedelta(days=1)).isoformat()

    got = client.get("/api/dashboards/first-response", {"since": day}).json()
    recent = client.get("/api/dashboards/first-response").json()
    refused = client.get("/api/dashboards/first-response", {"since": "2026-13-01"})

    assert got["conversations"] == 3
    assert got["answered"] == 2
    assert got["waiting"] == 1
    assert got["average_seconds"] == pytest.approx(27 * 60)
    assert {b["band"]: b["conversations"] for b in got["bands"]}["5m"] == 1
    assert recent["conversations"] == 0
    assert refused.status_code == 422
