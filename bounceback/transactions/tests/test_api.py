from __future__ import annotations

import pytest

from bounceback.testing.factories import CustomerFactory, TransactionFactory, transaction_body
from bounceback.transactions.models import Transaction

pytestmark = pytest.mark.django_db


def test_create_is_201_and_resend_is_200_on_the_same_row(api) -> None:
    customer = CustomerFactory()
    body = transaction_body(customer.pk, source="shop", external_id="O-77", site="Depot North")

    first = api.post("/api/transactions/", body, content_type="application/json")
    second = api.post(
        "/api/transactions/", {**body, "status": "cancelled"}, content_type="application/json"
    )

    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["status"] == "cancelled"
    assert second.json()["site"] == "depot-north"
    assert first.json()["occurred_at"].startswith("2026-05-01T07:00:00")


def test_create_for_an_unknown_customer_is_404(api) -> None:
    response = api.post(
        "/api/transactions/", transaction_body(99999), content_type="application/json"
    )

    assert response.status_code == 404
    assert response.json()["field"] == "customer_id"


def test_bad_values_are_422_naming_the_field(api) -> None:
    customer = CustomerFactory()

    response = api.post(
        "/api/transactions/",
        transaction_body(customer.pk, kind="teleport"),
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["field"] == "kind"
    assert Transaction.objects.count() == 0


def test_bulk_reports_per_item_and_stores_the_rest(api) -> None:
    customer = CustomerFactory()
    items = [transaction_body(customer.pk, external_id=f"B-{i}") for i in range(5)]
    items[2]["amount"] = "abc"

    response = api.post("/api/transactions/bulk", {"items": items}, content_type="application/json")
    again = api.post("/api/transactions/bulk", {"items": items}, content_type="application/json")

    body = response.json()
    assert response.status_code == 200
    assert (body["created"], body["rejected"]) == (4, 1)
    assert body["errors"] == [
        {
            "index": 2,
            "code": "invalid",
            "message": "amount must be a number, not 'abc'",
            "field": "amount",
        }
    ]
    assert [s["index"] for s in body["stored"]] == [0, 1, 3, 4]
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 4)
    assert Transaction.objects.count() == 4


def test_bulk_refuses_more_than_ten_thousand_items(api, settings) -> None:
    settings.BULK_UPSERT_LIMIT = 3
    customer = CustomerFactory()
    items = [transaction_body(customer.pk) for _ in range(4)]

    response = api.post("/api/transactions/bulk", {"items": items}, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["field"] == "items"
    assert Transaction.objects.count() == 0


def test_list_filters_by_customer_and_site(api) -> None:
    alice, bob = CustomerFactory(), CustomerFactory()
    api.post(
        "/api/transactions/bulk",
        {
            "items": [
                transaction_body(alice.pk, site="venue", external_id="1"),
                transaction_body(alice.pk, site="workshop", external_id="2"),
                transaction_body(bob.pk, site="venue", external_id="3"),
            ]
        },
        content_type="application/json",
    )

    at_venue = api.get("/api/transactions/?site=venue").json()["items"]
    alices = api.get(f"/api/transactions/?customer_id={alice.pk}").json()["items"]

    assert sorted(t["external_id"] for t in at_venue) == ["1", "3"]
    assert sorted(t["external_id"] for t in alices) == ["1", "2"]


def test_patch_updates_fields_but_not_identity(api) -> None:
    row = TransactionFactory()

    ok = api.patch(
        f"/api/transactions/{row.pk}", {"status": "refunded"}, content_type="application/json"
    )

    assert ok.status_code == 200
    assert ok.json()["status"] == "refunded"


def test_list_query_count_does_not_grow_with_rows(api, django_assert_max_num_queries) -> None:
    customer = CustomerFactory()
    api.post(
        "/api/transactions/bulk",
        {"items": [transaction_body(customer.pk, site=f"site-{i % 5}") for i in range(40)]},
        content_type="application/json",
    )

    with django_assert_max_num_queries(6):
        response = api.get("/api/transactions/?limit=40")

    assert len(response.json()["items"]) == 40


def test_bulk_reports_each_item_with_the_id_of_its_own_row(api) -> None:
    customers = [CustomerFactory() for _ in range(3)]
    items = [
        transaction_body(
            customers[i % 3].pk, external_id=f"R-{i}", amount=f"{i}.25", site=f"s{i % 4}"
        )
        for i in range(2500)
    ]
    items[7]["amount"] = "bad"

    body = api.post(
        "/api/transactions/bulk", {"items": items}, content_type="application/json"
    ).json()

    rows = {t.pk: t for t in Transaction.objects.select_related("site")}
    assert len(body["stored"]) == 2499
    for entry in body["stored"]:
        row, sent = rows[entry["id"]], items[entry["index"]]
        assert (row.external_id, str(row.amount), row.customer_id, row.site.code) == (
            sent["external_id"],
            sent["amount"],
            sent["customer_id"],
            sent["site"],
        )
