from __future__ import annotations

import pytest

from bounceback.signals.services import signals_record_many
from bounceback.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_signals_show_on_the_customers_timeline_page_and_api(
    agent_client, make_token_client
) -> None:
    customer = CustomerFactory()
    signals_record_many(
        items=[
            {
                "source": "reviews",
                "external_id": "G-1",
                "kind": "review",
                "occurred_at": "2026-04-01T10:00:00Z",
                "customer_id": customer.pk,
                "rating": 1,
                "channel": "google",
                "text": "Cold food, rude waiter.",
            }
        ]
    )

    page = agent_client.get(f"/customers/{customer.pk}/")
    timeline = make_token_client("customers:read").get(f"/api/customers/{customer.pk}/timeline")

    assert "Cold food, rude waiter." in page.content.decode()
    item = timeline.json()["items"][0]
    assert item["kind"] == "signal"
    assert item["score"] == "1 star"
    assert item["source"] == "reviews"
