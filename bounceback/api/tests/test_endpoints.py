"""The endpoint helpers: `act` checks the scope before anything else and says who acts;
what services that do not take an Actor yet are given keeps a person a person."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from bounceback.accounts.roles import Role
from bounceback.api.endpoints import act
from bounceback.apitokens.services import token_create
from bounceback.cases.models import Case
from bounceback.errors import Forbidden
from bounceback.testing.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _request(auth: object) -> object:
    request = RequestFactory().post("/api/cases/")
    request.auth = auth  # type: ignore[attr-defined]
    return request


def test_given_a_token_with_the_scope_when_acting_then_it_acts_for_its_creator() -> None:
    lead = UserFactory(role=Role.LEAD)
    token, _ = token_create(name="Till", scopes=["cases:write"], actor=lead)

    actor = act(_request(token), "cases:write")  # type: ignore[arg-type]

    assert (actor.kind, actor.token, actor.user) == ("token", token, lead)
    assert actor.label == f"Till (API token {token.prefix}…) for {lead}"


def test_given_a_signed_in_person_when_acting_then_the_person_acts() -> None:
    lead = UserFactory(role=Role.LEAD)

    actor = act(_request(lead), "cases:write")  # type: ignore[arg-type]

    assert (actor.kind, actor.user, actor.label) == ("person", lead, str(lead))


def test_given_a_token_without_the_scope_when_acting_then_forbidden() -> None:
    token, _ = token_create(name="Reader", scopes=["cases:read"], actor=None)

    with pytest.raises(Forbidden) as refused:
        act(_request(token), "cases:write")  # type: ignore[arg-type]

    assert refused.value.code == "missing_scope"


def test_given_no_scope_when_writing_to_a_missing_row_then_403_not_404(make_token_client) -> None:
    reader = make_token_client("cases:read")

    response = reader.post("/api/cases/999999/close", {}, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (403, "missing_scope")


def test_given_a_signed_in_person_when_opening_a_case_then_the_case_records_them() -> None:
    agent = UserFactory(role=Role.AGENT)
    client = Client()
    client.force_login(agent)
    customer = CustomerFactory()

    opened = client.post(
        "/api/cases/",
        {"customer_id": customer.pk, "summary": "Cold food"},
        content_type="application/json",
    )

    assert opened.status_code == 201, opened.content
    case = Case.objects.get(pk=opened.json()["id"])
    event = case.events.get(kind="opened")
    assert (case.created_by, event.actor, event.actor_label) == (agent, agent, str(agent))


def test_given_a_token_when_opening_a_case_then_the_token_is_recorded(make_token_client) -> None:
    customer = CustomerFactory()
    client = make_token_client("cases:write")

    opened = client.post(
        "/api/cases/",
        {"customer_id": customer.pk, "summary": "Cold food"},
        content_type="application/json",
    )

    assert opened.status_code == 201, opened.content
    case = Case.objects.get(pk=opened.json()["id"])
    event = case.events.get(kind="opened")
    # A token nobody created acts for nobody: no person, but the token is named.
    assert (case.created_by, event.actor) == (None, None)
    assert event.token is not None and client.token.startswith(f"bb_{event.token.prefix}")
    assert event.actor_label == f"test (API token {event.token.prefix}…)"
