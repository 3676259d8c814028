from __future__ import annotations

import pytest

from bounceback.signals.models import Signal
from bounceback.testing.factories import CustomerFactory, TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signals_api(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("signals:write")


def _body(**overrides: object) -> dict:
    body = {
        "source": "surveys",
        "external_id": "R-1",
        "kind": "survey",
        "event": "nps",
        "occurred_at": "2026-05-01T09:00:00Z",
        "nps": 3,
        "text": "The show started an hour late and nobody told us.",
    }
    body.update(overrides)
    return body


def test_a_signal_is_recorded_once_and_resending_changes_nothing(signals_api) -> None:
    customer = CustomerFactory()
    body = _body(customer_id=customer.pk, site="Grand Hall")

    first = signals_api.post("/api/signals/", body, content_type="application/json")
    again = signals_api.post("/api/signals/", {**body, "nps": 10}, content_type="application/json")

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert again.json()["nps"] == 3
    assert again.json()["site"] == "grand-hall"
    assert again.json()["customer_id"] == customer.pk
    assert Signal.objects.count() == 1


def test_a_late_order_names_its_customer_through_the_transaction(signals_api) -> None:
    order = TransactionFactory(source="shop", external_id="O-9")

    response = signals_api.post(
        "/api/signals/",
        _body(
            kind="operational",
            event="order_late",
            nps=None,
            transaction_source="shop",
            transaction_external_id="O-9",
        ),
        content_type="application/json",
    )

    assert response.status_code == 201
    assert response.json()["transaction_id"] == order.pk
    assert response.json()["customer_id"] == order.customer_id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nps": 11}, "nps"),
        ({"csat": 0}, "csat"),
        ({"rating": "5.5"}, "rating"),
        ({"kind": "rumour"}, "kind"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"external_id": ""}, "external_id"),
    ],
)
def test_bad_values_are_422_naming_the_field(signals_api, change, field) -> None:
    response = signals_api.post("/api/signals/", _body(**change), content_type="application/json")

    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert Signal.objects.count() == 0


def test_an_unknown_customer_is_404(signals_api) -> None:
    response = signals_api.post(
        "/api/signals/", _body(customer_email="nobody@example.com"), content_type="application/json"
    )

    assert response.status_code == 404
    assert response.json()["field"] == "customer_email"


def test_bulk_reports_each_bad_item_and_stores_the_rest(signals_api) -> None:
    customer = CustomerFactory()
    items = [_body(external_id=f"R-{i}", customer_id=customer.pk) for i in range(5)]
    items[2]["nps"] = 42
    items.append(_body(external_id="R-0"))

    response = signals_api.post(
        "/api/signals/bulk", {"items": items}, content_type="application/json"
    )
    again = signals_api.post(
        "/api/signals/bulk", {"items": items[:2]}, content_type="application/json"
    )

    body = response.json()
    assert response.status_code == 200
    assert body["created"] == 4 and body["rejected"] == 2
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(2, "nps"), (5, "external_id")]
    assert again.json()["unchanged"] == 2 and again.json()["created"] == 0
    assert Signal.objects.count() == 4


def test_bulk_refuses_more_than_the_limit(signals_api, settings) -> None:
    settings.BULK_UPSERT_LIMIT = 3
    items = [_body(external_id=f"R-{i}") for i in range(4)]

    response = signals_api.post(
        "/api/signals/bulk", {"items": items}, content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["field"] == "items"


def test_list_filters_and_pages_in_few_queries(
    make_token_client, django_assert_max_num_queries
) -> None:
    writer = make_token_client("signals:write")
    items = [
        _body(
            external_id=f"R-{i}",
            site="north" if i % 2 else "south",
            occurred_at=f"2026-05-0{i + 1}T09:00:00Z",
        )
        for i in range(6)
    ]
    writer.post("/api/signals/bulk", {"items": items}, content_type="application/json")
    reader = make_token_client("signals:read")

    with django_assert_max_num_queries(6):
        first = reader.get("/api/signals/?site=north&limit=2")
    second = reader.get(f"/api/signals/?site=north&limit=2&cursor={first.json()['next_cursor']}")

    ids = [s["external_id"] for s in first.json()["items"] + second.json()["items"]]
    assert ids == ["R-5", "R-3", "R-1"]
    assert second.json()["next_cursor"] is None


def test_a_token_without_the_scope_is_refused(make_token_client) -> None:
    reader = make_token_client("signals:read")

    response = reader.post("/api/signals/", _body(), content_type="application/json")

    assert response.status_code == 403
