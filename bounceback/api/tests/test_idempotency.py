from __future__ import annotations

import pytest

from bounceback.customers.models import Customer
from bounceback.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_same_key_and_body_give_the_same_answer_and_one_row(api) -> None:
    body = {"name": "Once Only", "emails": ["once@example.com"]}

    first = api.post(
        "/api/customers/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc-1"
    )
    retry = api.post(
        "/api/customers/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc-1"
    )

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


def test_reusing_a_key_for_another_body_is_refused(api) -> None:
    api.post(
        "/api/customers/",
        {"name": "A"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    response = api.post(
        "/api/customers/",
        {"name": "B"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert list(Customer.objects.values_list("name", flat=True)) == ["A"]


def test_a_refused_request_does_not_burn_the_key(api) -> None:
    CustomerFactory(email="taken@example.com")

    refused = api.post(
        "/api/customers/",
        {"name": "C", "emails": ["taken@example.com"]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="retry-me",
    )
    fixed = api.post(
        "/api/customers/",
        {"name": "C", "emails": ["taken@example.com"]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="retry-me",
    )

    # The body is the same, so the refusal is repeated, not replayed from storage.
    assert refused.status_code == fixed.status_code == 409
    assert "Idempotent-Replayed" not in fixed


def test_keys_of_different_clients_never_collide(make_token_client) -> None:
    one = make_token_client("customers:write")
    two = make_token_client("customers:write")

    a = one.post(
        "/api/customers/", {"name": "A"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="1"
    )
    b = two.post(
        "/api/customers/", {"name": "B"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="1"
    )

    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_bulk_retries_do_not_store_twice(api) -> None:
    customer = CustomerFactory()
    items = [
        {
            "customer_id": customer.pk,
            "kind": "order",
            "amount": "1.00",
            "currency": "USD",
            "occurred_at": "2026-01-01T00:00:00Z",
        }
        for _ in range(3)
    ]

    for _ in range(2):
        api.post(
            "/api/transactions/bulk",
            {"items": items},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="bulk-1",
        )

    assert customer.transactions.count() == 3


def test_an_overlong_key_is_a_clear_error(api) -> None:
    response = api.post(
        "/api/customers/",
        {"name": "A"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="x" * 201,
    )

    assert response.status_code == 422
    assert response.json()["field"] == "header.Idempotency-Key"


# --- A replay checks the caller again (issue 13) ---------------------------------------------


def _create_once(client) -> dict:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/customers/",
        {"name": "Secretive", "emails": ["secret@example.com"]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="once",
    )
    assert response.status_code == 201
    return response.json()


def test_given_a_revoked_token_when_it_replays_a_key_then_401_and_no_stored_answer(
    make_token_client,
) -> None:
    from bounceback.apitokens.models import ApiToken
    from bounceback.apitokens.services import token_revoke

    client = make_token_client("customers:write")
    _create_once(client)
    token_revoke(prefix=ApiToken.objects.get().prefix, actor=None)

    replay = client.post(
        "/api/customers/",
        {"name": "Secretive", "emails": ["secret@example.com"]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="once",
    )

    assert replay.status_code == 401
    assert "secret@example.com" not in replay.content.decode()
    assert "Idempotent-Replayed" not in replay


def test_given_a_token_that_lost_the_scope_when_it_replays_then_403(make_token_client) -> None:
    from bounceback.apitokens.models import ApiToken

    client = make_token_client("customers:write")
    _create_once(client)
    ApiToken.objects.update(scopes=["customers:read"])

    replay = client.post(
        "/api/customers/",
        {"name": "Secretive", "emails": ["secret@example.com"]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="once",
    )

    assert replay.status_code == 403
    assert replay.json()["code"] == "missing_scope"
    assert "secret@example.com" not in replay.content.decode()


def test_given_a_person_whose_role_changed_when_they_replay_then_403() -> None:
    from django.test import Client

    from bounceback.accounts.roles import Role
    from bounceback.testing.factories import UserFactory

    person = UserFactory(role=Role.AGENT)
    client = Client()
    client.force_login(person)
    _create_once(client)
    person.groups.clear()
    person.is_superuser = False
    person.save()

    replay = client.post(
        "/api/customers/",
        {"name": "Secretive", "emails": ["secret@example.com"]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="once",
    )

    assert replay.status_code == 403
    assert "secret@example.com" not in replay.content.decode()
