from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bounceback.testing.factories import CustomerFactory, SiteFactory, TransactionFactory
from bounceback.transactions.models import Transaction

pytestmark = pytest.mark.django_db


def _order(**overrides: str) -> dict[str, str]:
    data = {
        "transaction-kind": "booking",
        "transaction-status": "confirmed",
        "transaction-amount": "89.50",
        "transaction-currency": "usd",
        "transaction-occurred_at": (timezone.localtime() - timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "transaction-scheduled_for": "",
        "transaction-site": "Downtown",
        "transaction-product": "Evening show",
        "transaction-external_id": "",
    }
    data.update(overrides)
    return data


# --- Adding a transaction on the customer page ---------------------------------------


def test_adding_a_transaction_puts_it_on_the_timeline(agent_client: Client) -> None:
    customer = CustomerFactory()

    response = agent_client.post(
        reverse("transactions:create", args=[customer.pk]), _order(), follow=True
    )

    row = Transaction.objects.get()
    assert row.customer == customer
    assert row.amount == Decimal("89.50")
    assert row.currency == "USD"
    assert row.site is not None and row.site.code == "downtown"
    assert row.source == "staff"
    customer.refresh_from_db()
    assert customer.lifetime_value == Decimal("89.50")
    html = response.content.decode()
    assert "Evening show" in html
    assert "Booking added to" in html


def test_htmx_add_refreshes_form_timeline_and_value(agent_client: Client) -> None:
    customer = CustomerFactory()

    response = agent_client.post(
        reverse("transactions:create", args=[customer.pk]), _order(), HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert "<html" not in html
    assert 'id="transaction-entry"' in html
    assert 'id="timeline" aria-labelledby="timeline-heading" hx-swap-oob="true"' in html
    assert 'id="customer-value" aria-labelledby="value-heading" hx-swap-oob="true"' in html
    assert "$89.50" in html


def test_the_currency_defaults_to_the_business_currency(agent_client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory()

    html = agent_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert f'name="transaction-currency" value="{settings.BOUNCEBACK_CURRENCY}"' in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "", "This field is required."),
        ("amount", "-5", "greater than or equal to 0"),
        ("amount", "abc", "Enter a number."),
        ("currency", "EURO", "at most 3 characters"),
        ("currency", "12$", "three-letter ISO 4217 code"),
        ("occurred_at", "", "This field is required."),
        ("kind", "spaceship", "Select a valid choice."),
    ],
)
def test_invalid_values_show_on_their_field(
    agent_client: Client, field: str, value: str, message: str
) -> None:
    customer = CustomerFactory()

    response = agent_client.post(
        reverse("transactions:create", args=[customer.pk]),
        _order(**{f"transaction-{field}": value}),
    )

    assert response.status_code == 200
    form = response.context["transaction_form"]
    assert message in " ".join(form.errors[field])
    assert response.context["open_transaction"] is True
    assert Transaction.objects.count() == 0


def test_an_external_id_entered_twice_is_refused(agent_client: Client) -> None:
    first, second = CustomerFactory(name="First"), CustomerFactory(name="Second")
    url = reverse("transactions:create", args=[first.pk])
    agent_client.post(url, _order(**{"transaction-external_id": "BK-1"}))

    response = agent_client.post(
        reverse("transactions:create", args=[second.pk]),
        _order(**{"transaction-external_id": "BK-1", "transaction-amount": "1.00"}),
        HTTP_HX_REQUEST="true",
    )

    assert "already entered (for First)" in response.content.decode()
    row = Transaction.objects.get()
    assert row.customer == first
    assert row.amount == Decimal("89.50")


# --- The list -----------------------------------------------------------------------


def test_list_shows_newest_first(agent_client: Client) -> None:
    now = timezone.now()
    older = TransactionFactory(product="Older", occurred_at=now - timedelta(days=3))
    newer = TransactionFactory(product="Newer", occurred_at=now - timedelta(days=1))

    response = agent_client.get(reverse("transactions:list"))

    assert [t.pk for t in response.context["transactions"]] == [newer.pk, older.pk]


def test_list_filters_by_site_kind_status_and_dates(agent_client: Client) -> None:
    downtown, harbour = SiteFactory(code="downtown"), SiteFactory(code="harbour")
    today = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    match = TransactionFactory(
        site=downtown, kind="booking", status="confirmed", occurred_at=today - timedelta(days=2)
    )
    TransactionFactory(
        site=harbour, kind="booking", status="confirmed", occurred_at=today - timedelta(days=2)
    )
    TransactionFactory(
        site=downtown, kind="order", status="confirmed", occurred_at=today - timedelta(days=2)
    )
    TransactionFactory(
        site=downtown, kind="booking", status="cancelled", occurred_at=today - timedelta(days=2)
    )
    TransactionFactory(
        site=downtown, kind="booking", status="confirmed", occurred_at=today - timedelta(days=9)
    )
    day = (today - timedelta(days=2)).date().isoformat()

    response = agent_client.get(
        reverse("transactions:list"),
        {
            "site": "downtown",
            "kind": "booking",
            "status": "confirmed",
            "date_from": day,
            "date_to": day,
        },
    )

    assert [t.pk for t in response.context["transactions"]] == [match.pk]
    assert "Clear" in response.content.decode()


def test_a_backwards_date_range_is_reported(agent_client: Client) -> None:
    response = agent_client.get(
        reverse("transactions:list"), {"date_from": "2026-03-10", "date_to": "2026-03-01"}
    )

    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()


def test_list_query_count_does_not_grow_with_rows(
    agent_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    sites = [SiteFactory() for _ in range(3)]
    for i in range(60):
        TransactionFactory(site=sites[i % 3])

    with django_assert_max_num_queries(10):
        agent_client.get(reverse("transactions:list"))
    with django_assert_max_num_queries(10):
        agent_client.get(
            reverse("transactions:list"), {"site": sites[0].code, "status": "completed"}
        )
