from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bounceback.customers.services import ExternalIdentity, customer_create
from bounceback.errors import NotFound
from bounceback.sites.models import Site
from bounceback.testing.factories import CustomerFactory, TransactionFactory
from bounceback.transactions.models import Transaction
from bounceback.transactions.services import transaction_upsert, transactions_upsert

pytestmark = pytest.mark.django_db


def _item(**overrides: object) -> dict:
    item = {
        "kind": "booking",
        "amount": "49.90",
        "currency": "USD",
        "occurred_at": "2026-03-01T18:30:00Z",
    }
    item.update(overrides)
    return item


def test_resending_the_same_external_id_updates_instead_of_duplicating() -> None:
    customer = CustomerFactory()
    first, created = transaction_upsert(
        data=_item(customer_id=customer.pk, source="shop", external_id="O-1")
    )

    again, created_again = transaction_upsert(
        data=_item(customer_id=customer.pk, source="shop", external_id="O-1", status="refunded")
    )

    assert created and not created_again
    assert again.pk == first.pk
    assert Transaction.objects.get().status == "refunded"


def test_the_same_external_id_from_another_source_is_another_transaction() -> None:
    customer = CustomerFactory()

    transaction_upsert(data=_item(customer_id=customer.pk, source="shop", external_id="1"))
    transaction_upsert(data=_item(customer_id=customer.pk, source="bookings", external_id="1"))

    assert Transaction.objects.count() == 2


def test_bulk_stores_valid_items_and_reports_each_invalid_one() -> None:
    customer = CustomerFactory(email="known@example.com")
    customer_create(
        name="By external id",
        external_ids=[ExternalIdentity(source="crm", external_id="X9")],
    )

    result = transactions_upsert(
        items=[
            _item(customer_id=customer.pk, external_id="A"),
            _item(customer_email="KNOWN@example.com", external_id="B"),
            _item(customer_source="crm", customer_external_id="X9", external_id="C"),
            _item(customer_id=customer.pk, amount="-5", external_id="D"),
            _item(customer_id=customer.pk, occurred_at="yesterday", external_id="E"),
            _item(customer_email="nobody@example.com", external_id="F"),
            _item(customer_id=customer.pk, external_id="A"),
            _item(customer_id=customer.pk, currency="dollars", external_id="G"),
            "not an object",
        ]
    )

    assert sorted(result.stored) == [0, 1, 2]
    assert [(e.index, e.field) for e in result.errors] == [
        (3, "amount"),
        (4, "occurred_at"),
        (5, "customer_email"),
        (6, "external_id"),
        (7, "currency"),
        (8, None),
    ]
    assert result.errors[2].code == "unknown_customer"
    assert result.errors[3].code == "duplicate_in_request"
    assert set(Transaction.objects.values_list("external_id", flat=True)) == {"A", "B", "C"}


def test_lifetime_value_counts_kept_spend_in_the_business_currency() -> None:
    customer = CustomerFactory()

    transactions_upsert(
        items=[
            _item(customer_id=customer.pk, amount="100.00", external_id="1"),
            _item(customer_id=customer.pk, amount="20.50", external_id="2"),
            _item(customer_id=customer.pk, amount="999", status="refunded", external_id="3"),
            _item(customer_id=customer.pk, amount="70", currency="EUR", external_id="4"),
        ]
    )
    customer.refresh_from_db()
    first = customer.lifetime_value
    transaction_upsert(data=_item(customer_id=customer.pk, external_id="1", status="cancelled"))
    customer.refresh_from_db()

    assert first == Decimal("120.50")
    assert customer.lifetime_value == Decimal("20.50")


def test_unknown_site_codes_create_the_site_once() -> None:
    customer = CustomerFactory()

    transactions_upsert(
        items=[
            _item(customer_id=customer.pk, site="Main Hall", external_id="1"),
            _item(customer_id=customer.pk, site="main-hall", external_id="2"),
        ]
    )

    assert list(Site.objects.values_list("code", flat=True)) == ["main-hall"]
    assert Transaction.objects.filter(site__code="main-hall").count() == 2


def test_single_upsert_for_an_unknown_customer_is_not_found() -> None:
    with pytest.raises(NotFound) as refused:
        transaction_upsert(data=_item(customer_id=424242))

    assert refused.value.field == "customer_id"


def test_an_unchanged_resend_writes_nothing() -> None:
    row = TransactionFactory(source="shop", external_id="Z")
    before = row.updated_at

    result = transactions_upsert(
        items=[
            {
                "customer_id": row.customer_id,
                "kind": row.kind,
                "amount": str(row.amount),
                "currency": row.currency,
                "occurred_at": row.occurred_at.isoformat(),
                "source": "shop",
                "external_id": "Z",
            }
        ]
    )

    row.refresh_from_db()
    assert len(result.unchanged) == 1 and not result.updated
    assert row.updated_at == before


amounts = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), amounts, st.booleans()), min_size=1, max_size=15))
def test_lifetime_value_always_equals_the_sum_of_kept_transactions(
    sends: list[tuple[int, Decimal, bool]],
) -> None:
    # Given any sequence of sends (some re-sending the same external id)
    customer = CustomerFactory()
    expected: dict[int, tuple[Decimal, bool]] = {}
    for external, amount, refunded in sends:
        status = "refunded" if refunded else "completed"
        transaction_upsert(
            data=_item(
                customer_id=customer.pk,
                external_id=f"p-{customer.pk}-{external}",
                amount=str(amount),
                status=status,
            )
        )
        expected[external] = (amount, refunded)

    # Then the stored value is the sum over the latest version of each
    customer.refresh_from_db()
    assert customer.lifetime_value == sum(
        (a for a, refunded in expected.values() if not refunded), Decimal("0")
    )
