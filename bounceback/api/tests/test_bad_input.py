"""One bad write must never break a page (issue 13).

Each of these inputs was a 500 (or stored something no page could read back).
Now each is a 4xx naming the field, nothing is stored, and a row that is
already stored with a date Python cannot hold still reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.apitokens.scopes import SCOPES
from bounceback.apitokens.services import token_create
from bounceback.cases.models import Case
from bounceback.customers.models import Customer
from bounceback.testing.factories import (
    CustomerFactory,
    InteractionFactory,
    TransactionFactory,
    UserFactory,
    transaction_body,
)
from bounceback.testing.funds_factories import open_case
from bounceback.transactions.models import Transaction

pytestmark = pytest.mark.django_db

TOO_BIG = 2**63  # one more than a 64-bit column holds


@pytest.fixture
def client() -> Client:
    admin = UserFactory(role=Role.ADMIN)
    _, plaintext = token_create(name="every scope", scopes=list(SCOPES), actor=admin)
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


def _send(client: Client, method: str, path: str, body: Any) -> Any:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(client, method)(path, raw, content_type="application/json")


def _refused(response: Any, field: str, status: int = 422) -> None:
    assert response.status_code == status, response.content
    assert response.json()["field"] == field, response.json()


def _transaction(customer: Customer, **overrides: Any) -> dict[str, Any]:
    return transaction_body(customer.pk, **overrides)


# Dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
        "0001-01-01T00:00:00+05:00",  # year 0 in UTC
        "2201-01-01T00:00:00Z",
        "1899-12-31T23:59:59Z",
    ],
)
def test_a_date_outside_the_years_1900_to_2200_is_refused_naming_the_field(
    client: Client, when: str
) -> None:
    customer = CustomerFactory()

    created = _send(client, "post", "/api/transactions/", _transaction(customer, occurred_at=when))
    bulk = _send(
        client,
        "post",
        "/api/transactions/bulk",
        {"items": [_transaction(customer, occurred_at=when)]},
    )
    listed = client.get("/api/transactions/", {"occurred_after": when})

    _refused(created, "occurred_at")
    assert "between the years 1900 and 2200" in created.json()["message"]
    assert bulk.status_code == 200 and bulk.json()["errors"][0]["field"] == "occurred_at"
    _refused(listed, "occurred_after")
    assert not Transaction.objects.exists()


def test_a_date_written_as_a_number_is_refused(client: Client) -> None:
    # pydantic would read 0.5 as half a second after 1970.
    _refused(client.get("/api/customers/", {"created_before": "0.5"}), "created_before")


def test_dates_at_the_edges_of_the_window_are_kept(client: Client) -> None:
    customer = CustomerFactory()

    response = _send(
        client,
        "post",
        "/api/transactions/",
        _transaction(
            customer, occurred_at="1900-01-01T00:00:00Z", scheduled_for="2200-12-31T12:00Z"
        ),
    )

    assert response.status_code == 201, response.content


def test_a_breakdown_window_outside_the_years_is_refused(client: Client) -> None:
    response = _send(
        client,
        "post",
        "/api/breakdowns/",
        {
            "title": "Flood",
            "breakdown_type": "weather",
            "product": "delivery",
            "window_start": "0001-01-01T00:00:00+05:00",
        },
    )

    assert response.status_code == 422
    assert "window_start" in {error["field"] for error in response.json()["errors"]}


@pytest.mark.postgres
def test_a_stored_date_python_cannot_hold_still_reads_everywhere(client: Client) -> None:
    # Given a transaction stored (before dates were checked) as year 10000 in UTC
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL stores years beyond 9999")
    customer = CustomerFactory()
    row = TransactionFactory(customer=customer)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE transactions_transaction SET occurred_at = "
            "'9999-12-31T23:59:59-14:00'::timestamptz WHERE id = %s",
            [row.pk],
        )
    staff = Client()
    staff.force_login(UserFactory(role=Role.ADMIN))

    # When it is read by every page and list that shows it, then each answers
    answers = {
        "api timeline": client.get(f"/api/customers/{customer.pk}/timeline"),
        "api list": client.get("/api/transactions/"),
        "api read": client.get(f"/api/transactions/{row.pk}"),
        "customer page": staff.get(f"/customers/{customer.pk}/"),
        "transactions page": staff.get("/transactions/"),
    }

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 200)
    assert answers["api read"].json()["occurred_at"].startswith("9999-12-30")


# null in a PATCH -----------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "tags", "emails", "notes", "time_zone"])
def test_null_for_a_customer_field_is_refused_naming_it(client: Client, field: str) -> None:
    customer = CustomerFactory(tags=["vip"])

    response = _send(client, "patch", f"/api/customers/{customer.pk}", {field: None})

    _refused(response, field)
    assert "may not be null" in response.json()["message"]
    customer.refresh_from_db()
    assert customer.tags == ["vip"]


@pytest.mark.parametrize("field", ["body", "subject", "thread_ref", "metadata"])
def test_null_for_an_interaction_field_is_refused_naming_it(client: Client, field: str) -> None:
    interaction = InteractionFactory()

    _refused(_send(client, "patch", f"/api/interactions/{interaction.pk}", {field: None}), field)


def test_null_for_a_case_description_is_refused_but_null_clears_its_site(client: Client) -> None:
    case = open_case()

    refused = _send(client, "patch", f"/api/cases/{case.pk}", {"description": None})
    cleared = _send(client, "patch", f"/api/cases/{case.pk}", {"site": None})

    _refused(refused, "description")
    assert cleared.status_code == 200, cleared.content


def test_the_document_says_which_patch_fields_take_null(client: Client) -> None:
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]

    tags = schemas["CustomerPatch"]["properties"]["tags"]
    site = schemas["CasePatch"]["properties"]["site"]

    assert tags["type"] == "array" and "anyOf" not in tags and "default" not in tags
    assert {"type": "null"} in site["anyOf"]


# Integers beyond 64 bits ---------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/transactions/", "customer_id"),
        ("/api/interactions/", "customer_id"),
        ("/api/cases/", "assignee_id"),
        ("/api/transactions/", "limit"),
    ],
)
def test_an_integer_filter_beyond_64_bits_is_refused(client: Client, path: str, field: str) -> None:
    _refused(client.get(path, {field: str(TOO_BIG)}), field)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/customers/{TOO_BIG}",
        f"/api/customers/{TOO_BIG}/timeline",
        f"/api/transactions/{TOO_BIG}",
        f"/api/interactions/{TOO_BIG}",
        f"/api/cases/{TOO_BIG}",
        f"/api/cases/{TOO_BIG}/timeline",
        f"/api/breakdowns/{TOO_BIG}",
        f"/api/playbooks/{TOO_BIG}",
        f"/api/segments/{TOO_BIG}",
        f"/api/catalog/failure-modes/{TOO_BIG}",
        f"/api/webhooks/subscriptions/{TOO_BIG}",
        f"/api/funds/grants/{TOO_BIG}",
    ],
)
def test_an_id_beyond_64_bits_in_a_path_is_not_found(client: Client, path: str) -> None:
    assert client.get(path).status_code == 404


def test_an_id_beyond_64_bits_in_a_body_is_refused_naming_it(client: Client) -> None:
    customer = CustomerFactory()

    transaction = _send(
        client, "post", "/api/transactions/", _transaction(customer, customer_id=TOO_BIG)
    )
    case = _send(
        client,
        "post",
        "/api/cases/",
        {"customer_id": customer.pk, "summary": "x", "assignee_id": TOO_BIG},
    )

    _refused(transaction, "customer_id")
    _refused(case, "assignee_id")
    assert not Case.objects.exists()


# Text no database stores ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"name": "Ada \\udfff"}', "name"),
        ('{"name": "Ada", "tags": ["ok", "\\ud800"]}', "tags[1]"),
        ('{"name": "Ada \\u0000 Lovelace"}', "name"),
        ('{"name": "Ada", "notes": "line\\u0000"}', "notes"),
    ],
)
def test_a_lone_surrogate_or_nul_in_text_is_refused_naming_the_field(
    client: Client, body: str, field: str
) -> None:
    response = _send(client, "post", "/api/customers/", body)

    _refused(response, field)
    assert not Customer.objects.exists()


def test_a_surrogate_pair_is_a_character_and_is_kept(client: Client) -> None:
    response = _send(client, "post", "/api/customers/", '{"name": "Ada \\ud83d\\ude00"}')

    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Ada \U0001f600"


def test_nul_in_a_nested_key_or_a_query_is_refused(client: Client) -> None:
    customer = CustomerFactory()

    nested = _send(
        client,
        "post",
        "/api/transactions/",
        json.dumps(_transaction(customer, attributes={"seat\u0000": "12A"})),
    )
    query = client.get("/api/customers/", {"q": "Ada\x00"})

    _refused(nested, "attributes.seat\x00")
    _refused(query, "q")


def test_json_nested_a_thousand_levels_is_refused(client: Client) -> None:
    deep = '{"name": "Ada", "tags": ' + "[" * 1000 + "]" * 1000 + "}"

    response = _send(client, "post", "/api/customers/", deep)

    assert response.status_code == 422
    assert "nests deeper than" in response.json()["message"]


def test_a_json_array_is_not_an_object_of_defaults(client: Client) -> None:
    _refused(_send(client, "post", "/api/segments/recompute", [None, None]), "body")


# Currencies ----------------------------------------------------------------


@pytest.mark.parametrize("currency", ["ZZZ", "XTS", "ABC"])
def test_a_currency_outside_iso_4217_is_refused(client: Client, currency: str) -> None:
    customer = CustomerFactory()

    response = _send(
        client, "post", "/api/transactions/", _transaction(customer, currency=currency)
    )

    _refused(response, "currency")
    assert "ISO 4217" in response.json()["message"]


@pytest.mark.parametrize("currency", ["EUR", "jpy", "CHF"])
def test_iso_4217_currencies_are_taken(client: Client, currency: str) -> None:
    customer = CustomerFactory()

    response = _send(
        client, "post", "/api/transactions/", _transaction(customer, currency=currency)
    )

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == currency.upper()


def test_a_stored_date_outside_the_window_is_still_answered(client: Client) -> None:
    # Only requests are range-checked: what is stored must always read back.
    row = TransactionFactory()
    Transaction.objects.filter(pk=row.pk).update(
        occurred_at=datetime(1850, 6, 1, tzinfo=UTC), scheduled_for=datetime(2500, 1, 1, tzinfo=UTC)
    )

    response = client.get(f"/api/transactions/{row.pk}")

    assert response.status_code == 200
    assert response.json()["occurred_at"].startswith("1850-06-01")


@pytest.mark.parametrize("body", ["null", '{"segment_id": false}', '"all"'])
def test_a_body_of_the_wrong_json_type_is_refused(client: Client, body: str) -> None:
    response = _send(client, "post", "/api/segments/recompute", body)

    assert response.status_code == 422, response.content
