"""The staff form takes the same date and currency rules as the API (issue 13)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bounceback.testing.factories import CustomerFactory
from bounceback.transactions.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("occurred_at", "1850-01-01T10:00", "between the years 1900 and 2200"),
        ("scheduled_for", "9999-12-31T23:59", "between the years 1900 and 2200"),
        ("currency", "ZZZ", "not an ISO 4217 currency"),
    ],
)
def test_a_value_out_of_range_shows_on_its_field_and_nothing_is_stored(
    agent_client: Client, field: str, value: str, message: str
) -> None:
    customer = CustomerFactory()
    data = {
        "transaction-kind": "booking",
        "transaction-status": "confirmed",
        "transaction-amount": "89.50",
        "transaction-currency": "usd",
        "transaction-occurred_at": "2026-05-01T10:00",
        "transaction-scheduled_for": "",
        "transaction-site": "",
        "transaction-product": "Evening show",
        "transaction-external_id": "",
        f"transaction-{field}": value,
    }

    response = agent_client.post(reverse("transactions:create", args=[customer.pk]), data)

    assert response.status_code == 200
    assert message in " ".join(response.context["transaction_form"].errors[field])
    assert not Transaction.objects.exists()
