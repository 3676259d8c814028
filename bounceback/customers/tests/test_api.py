from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bounceback.testing.factories import (
    CustomerFactory,
    InteractionFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db


def test_create_then_read_a_customer(api) -> None:
    created = api.post(
        "/api/customers/",
        {
            "name": "Ada Lovelace",
            "emails": ["ada@example.com"],
            "phones": ["+44 20 7946 0958"],
            "external_ids": [{"source": "bookings", "external_id": "C-7"}],
            "preferred_channel": "phone",
            "time_zone": "Europe/London",
            "tags": ["vip"],
        },
        content_type="application/json",
    )

    assert created.status_code == 201
    body = created.json()
    read = api.get(f"/api/customers/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body
    assert body["emails"] == ["ada@example.com"]
    assert body["phones"] == ["+442079460958"]
    assert body["external_ids"] == [{"source": "bookings", "external_id": "C-7"}]
    assert body["lifetime_value"] == "0.00"


def test_duplicate_email_is_a_409_naming_the_field(api) -> None:
    CustomerFactory(email="dup@example.com")

    response = api.post(
        "/api/customers/",
        {"name": "Copy", "emails": ["DUP@example.com"]},
        content_type="application/json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_identity"
    assert response.json()["field"] == "emails[0]"


def test_schema_errors_are_422_with_every_field(api) -> None:
    response = api.post("/api/customers/", {"emails": "nope"}, content_type="application/json")

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"name", "emails"}


def test_malformed_json_is_a_400_not_a_500(api) -> None:
    response = api.post("/api/customers/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_patch_changes_only_what_is_sent(api) -> None:
    customer = CustomerFactory(name="Old Name", email="keep@example.com")

    response = api.patch(
        f"/api/customers/{customer.pk}", {"name": "New Name"}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["name"] == "New Name"
    assert response.json()["emails"] == ["keep@example.com"]


def test_unknown_customer_is_404_json(api) -> None:
    response = api.get("/api/customers/999999")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_list_filters_and_walks_pages_with_the_cursor(api) -> None:
    for i in range(7):
        CustomerFactory(name=f"Customer {i:02}")
    CustomerFactory(name="Zed Vip", email="zed@vip.example")

    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/customers/?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(url).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    found = api.get("/api/customers/?q=vip.example").json()["items"]

    assert seen == sorted(seen) and len(seen) == 8 == len(set(seen))
    assert [c["name"] for c in found] == ["Zed Vip"]


def test_a_forged_cursor_is_refused_not_crashed(api) -> None:
    response = api.get("/api/customers/?cursor=not-a-cursor")

    assert response.status_code == 422
    assert response.json()["field"] == "cursor"


def test_list_query_count_does_not_grow_with_rows(api, django_assert_max_num_queries) -> None:
    for _ in range(30):
        CustomerFactory(phone=None)

    with django_assert_max_num_queries(8):
        response = api.get("/api/customers/?limit=30")

    assert len(response.json()["items"]) == 30


def test_timeline_merges_interactions_and_transactions_newest_first(api) -> None:
    customer = CustomerFactory()
    now = timezone.now()
    TransactionFactory(customer=customer, occurred_at=now - timedelta(days=3), amount=Decimal("40"))
    InteractionFactory(customer=customer, occurred_at=now - timedelta(days=2), body="Where is it?")
    TransactionFactory(
        customer=customer, occurred_at=now - timedelta(days=1), amount=Decimal("2.5")
    )
    InteractionFactory(customer=customer, occurred_at=now - timedelta(hours=1), body="Thanks!")

    body = api.get(f"/api/customers/{customer.pk}/timeline").json()
    older = api.get(f"/api/customers/{customer.pk}/timeline?limit=2").json()

    assert [e["kind"] for e in body["items"]] == [
        "interaction",
        "transaction",
        "interaction",
        "transaction",
    ]
    assert body["items"][0]["body"] == "Thanks!"
    rest = api.get(
        f"/api/customers/{customer.pk}/timeline?limit=2&cursor={older['next_cursor']}"
    ).json()
    assert [e["kind"] for e in older["items"]] == ["interaction", "transaction"]
    assert [e["kind"] for e in rest["items"]] == ["interaction", "transaction"]
    assert rest["next_cursor"] is None


def test_timeline_pages_never_skip_entries_that_share_a_time(api) -> None:
    customer = CustomerFactory()
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(5):
        TransactionFactory(customer=customer, occurred_at=midnight)
        InteractionFactory(customer=customer, occurred_at=midnight)

    seen, cursor = [], None
    while True:
        url = f"/api/customers/{customer.pk}/timeline?limit=3" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = api.get(url).json()
        seen += [(e["kind"], e["id"]) for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert len(seen) == len(set(seen)) == 10


def test_reads_need_a_scope_and_writes_need_the_write_scope(make_token_client) -> None:
    reader = make_token_client("customers:read")
    stranger = make_token_client("transactions:read")

    listed = reader.get("/api/customers/")
    refused_write = reader.post("/api/customers/", {"name": "X"}, content_type="application/json")
    refused_read = stranger.get("/api/customers/")

    assert listed.status_code == 200
    assert refused_write.status_code == 403
    assert refused_write.json()["code"] == "missing_scope"
    assert refused_read.status_code == 403


def test_no_credentials_is_401(client) -> None:
    response = client.get("/api/customers/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_revoked_token_is_401(make_token_client) -> None:
    from bounceback.apitokens.services import token_revoke

    api = make_token_client("customers:read")
    prefix = api.token.split("_")[1]
    token_revoke(prefix=prefix, actor=None)

    assert api.get("/api/customers/").status_code == 401


def test_signed_in_staff_use_the_api_with_csrf(agent) -> None:
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent)

    read = browser.get("/api/customers/")
    write_without_csrf = browser.post(
        "/api/customers/", {"name": "X"}, content_type="application/json"
    )

    assert read.status_code == 200
    assert write_without_csrf.status_code in {401, 403}
