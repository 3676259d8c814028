"""The funds API: grants, approvals, allowances, balances, reports and vouchers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.apitokens.services import token_create
from bounceback.funds.models import Grant
from bounceback.funds.services import grant_create, grant_reverse
from bounceback.testing.funds_factories import open_case, staff

pytestmark = pytest.mark.django_db


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _post(client, url: str, body: dict | None = None, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(url, body or {}, content_type="application/json", **headers)


def _put(client, url: str, body: dict):  # type: ignore[no-untyped-def]
    return client.put(url, body, content_type="application/json")


GRANT = {"kind": "refund", "value": "40.00", "reason": "Two days late"}


def test_given_a_grant_within_the_allowance_when_posted_then_201_and_in_effect() -> None:
    agent = staff(Role.AGENT)
    case = open_case()

    response = _post(_client(agent), f"/api/funds/cases/{case.pk}/grants", GRANT)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["state"], body["value"], body["approval"]) == ("granted", "40.00", None)


def test_given_a_grant_above_the_allowance_when_posted_then_202_and_the_lead_decides_it() -> None:
    agent, lead = staff(Role.AGENT), staff(Role.LEAD)
    case = open_case()

    asked = _post(_client(agent), f"/api/funds/cases/{case.pk}/grants", {**GRANT, "value": "300"})
    assert asked.status_code == 202, asked.content
    approval = asked.json()["approval"]
    assert (approval["level"], approval["state"]) == ("lead", "pending")

    queue = _client(lead).get("/api/funds/approvals").json()
    assert [item["id"] for item in queue["items"]] == [approval["id"]]
    assert queue["items"][0]["due_at"] is not None

    decided = _post(
        _client(lead),
        f"/api/funds/approvals/{approval['id']}/decide",
        {"decision": "reduce", "value": "200", "reason": "Our usual refund"},
    )
    assert decided.status_code == 200, decided.content
    assert (decided.json()["state"], decided.json()["decided_value"]) == ("reduced", "200.00")
    grant = _client(agent).get(f"/api/funds/grants/{asked.json()['id']}").json()
    assert (grant["state"], grant["value"]) == ("granted", "200.00")


def test_given_bad_input_when_posted_then_422_with_the_field_and_404_for_no_case() -> None:
    client = _client(staff(Role.AGENT))
    case = open_case()

    bad = _post(client, f"/api/funds/cases/{case.pk}/grants", {**GRANT, "currency": "EUR"})
    missing = _post(client, "/api/funds/cases/999999/grants", GRANT)

    assert (bad.status_code, bad.json()["field"]) == (422, "currency")
    assert missing.status_code == 404


def test_given_an_agent_when_deciding_reversing_or_setting_allowances_then_403() -> None:
    agent = staff(Role.AGENT)
    client = _client(agent)
    grant = grant_create(
        case=open_case(), actor=staff(Role.AGENT), kind="credit", value="300", reason="x"
    )

    decide = _post(
        client, f"/api/funds/approvals/{grant.approval.pk}/decide", {"decision": "approve"}
    )
    reverse = _post(client, f"/api/funds/grants/{grant.pk}/reverse", {"reason": "no"})
    policy = _put(
        client,
        "/api/funds/policies/agent",
        {"per_case_limit": "1", "period": "week", "period_budget": "2"},
    )
    balances = client.get("/api/funds/balances")

    assert [r.status_code for r in (decide, reverse, policy, balances)] == [403, 403, 403, 403]


def test_given_a_manager_when_setting_a_policy_and_an_override_then_allowances_follow() -> None:
    manager = staff(Role.MANAGER)
    agent = staff(Role.AGENT)
    client = _client(manager)

    policy = _put(
        client,
        "/api/funds/policies/agent",
        {"per_case_limit": "200", "period": "week", "period_budget": "800"},
    )
    override = _put(client, f"/api/funds/overrides/{agent.pk}", {"per_case_limit": "250"})
    bad = _put(
        client,
        "/api/funds/policies/agent",
        {"per_case_limit": "900", "period": "week", "period_budget": "800"},
    )

    assert policy.status_code == 200 and policy.json()["default"] is False
    assert override.status_code == 200
    assert (bad.status_code, bad.json()["field"]) == (422, "per_case_limit")
    mine = _client(agent).get("/api/funds/allowance").json()
    assert (mine["per_case_limit"], mine["period"], mine["period_budget"]) == (
        "250.00",
        "week",
        "800.00",
    )
    assert client.get("/api/funds/policies/lead").json()["default"] is True


def test_given_grants_when_listing_then_filters_apply_and_queries_stay_flat(
    django_assert_max_num_queries,
) -> None:
    agent = staff(Role.AGENT)
    case = open_case()
    for kind in ("refund", "voucher", "credit", "voucher"):
        grant_create(case=case, actor=agent, kind=kind, value="10", reason="Late")
    client = _client(agent)

    with django_assert_max_num_queries(6):
        page = client.get("/api/funds/grants", {"kind": "voucher", "limit": 1}).json()

    assert len(page["items"]) == 1 and page["next_cursor"]
    assert page["items"][0]["voucher"]["status"] == "valid"
    rest = client.get("/api/funds/grants", {"kind": "voucher", "cursor": page["next_cursor"]})
    assert len(rest.json()["items"]) == 1


def test_given_a_queue_of_approvals_when_listing_then_queries_stay_flat(
    django_assert_max_num_queries,
) -> None:
    lead = staff(Role.LEAD)
    for _ in range(4):
        grant_create(
            case=open_case(), actor=staff(Role.AGENT), kind="credit", value="300", reason="x"
        )
    client = _client(lead)

    with django_assert_max_num_queries(6):
        page = client.get("/api/funds/approvals").json()

    assert len(page["items"]) == 4


def test_given_exceptions_when_listed_then_only_executives_see_them() -> None:
    agent = staff(Role.AGENT)
    grant_create(
        case=open_case(),
        actor=agent,
        kind="refund",
        value="20",
        reason="Regular guest",
        exception_to_policy=True,
        policy_bent="No refunds on sale items",
    )

    assert _client(agent).get("/api/funds/grants", {"exceptions": True}).status_code == 403
    seen = _client(staff(Role.EXECUTIVE)).get("/api/funds/grants", {"exceptions": True}).json()
    assert [g["policy_bent"] for g in seen["items"]] == ["No refunds on sale items"]


def test_given_spend_when_reading_balances_and_failure_modes_then_the_ledger_is_summed(
    django_assert_max_num_queries,
) -> None:
    from bounceback.testing.factories import TeamFactory

    team = TeamFactory()
    agent = staff(Role.AGENT, team=team)
    grant_create(case=open_case(), actor=agent, kind="credit", value="30", reason="x")
    reversed_grant = grant_create(
        case=open_case(), actor=agent, kind="credit", value="20", reason="x"
    )
    grant_reverse(grant=reversed_grant, actor=staff(Role.MANAGER), reason="duplicate")
    client = _client(staff(Role.LEAD))

    for _ in range(5):  # more people cost no more queries
        staff(Role.AGENT, team=team)
    # Session and permission look-ups, then ledger sums, people, policies, overrides.
    with django_assert_max_num_queries(13):
        people = client.get("/api/funds/balances", {"by": "person"}).json()
    teams = client.get("/api/funds/balances", {"by": "team", "period": "month"}).json()
    modes = client.get("/api/funds/spend-by-failure-mode").json()
    bad = client.get("/api/funds/balances", {"by": "planet"})

    mine = next(b for b in people["items"] if b["key"] == agent.pk)
    assert (mine["spent"], mine["budget"], mine["remaining"]) == ("30.00", "1500.00", "1470.00")
    assert next(b for b in teams["items"] if b["key"] == team.pk)["spent"] == "30.00"
    assert modes == [
        {
            "failure_mode_id": None,
            "title": "No failure mode",
            "spent": "30.00",
            "grants": 2,
            "currency": "USD",
        }
    ]
    assert (bad.status_code, bad.json()["field"]) == (422, "by")


def test_given_a_till_token_when_redeeming_a_voucher_then_once_only(make_token_client) -> None:
    grant = grant_create(
        case=open_case(), actor=staff(Role.AGENT), kind="voucher", value="15", reason="x"
    )
    till = make_token_client("vouchers:redeem")
    url = f"/api/funds/vouchers/{grant.voucher.code}"

    checked = till.get(url)
    first = _post(till, f"{url}/redeem", {"by": "till 2", "reference": "R9"})
    second = _post(till, f"{url}/redeem", {"by": "till 3"})
    unknown = _post(till, "/api/funds/vouchers/ZZZZ-ZZZZ-ZZZZ/redeem", {"by": "till 3"})
    no_scope = _post(make_token_client("funds:read"), f"{url}/redeem", {"by": "till"})

    assert checked.json()["status"] == "valid"
    assert (first.status_code, first.json()["status"]) == (200, "redeemed")
    assert (second.status_code, second.json()["code"]) == (409, "voucher_redeemed")
    assert unknown.status_code == 404
    assert no_scope.status_code == 403


def test_given_a_token_when_granting_then_it_acts_for_its_creator_or_is_refused(
    make_token_client,
) -> None:
    agent = staff(Role.AGENT)
    _, plaintext = token_create(name="crm", scopes=["funds:write"], actor=agent)
    owned = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    case = open_case()

    made = _post(owned, f"/api/funds/cases/{case.pk}/grants", GRANT)
    orphan = _post(make_token_client("funds:write"), f"/api/funds/cases/{case.pk}/grants", GRANT)

    assert made.status_code == 201 and made.json()["granted_by_id"] == agent.pk
    assert (orphan.status_code, orphan.json()["code"]) == (403, "no_person")
    assert Grant.objects.count() == 1
    assert Decimal(made.json()["value"]) == Decimal("40")
