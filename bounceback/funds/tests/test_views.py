"""The fund pages: who may open them, refusals on their field, and constant query counts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.cases.services import case_open
from bounceback.funds import services
from bounceback.funds.models import AllowancePolicy, ApprovalRequest, Grant
from bounceback.testing.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _case(actor: Any, **customer: Any) -> Case:
    return case_open(customer=CustomerFactory(**customer), summary="Show cancelled", actor=actor)


def _grant(case: Case, actor: Any, value: str, **kwargs: Any) -> Grant:
    return services.grant_create(
        case=case,
        actor=actor,
        kind=kwargs.pop("kind", "refund"),
        value=Decimal(value),
        reason=kwargs.pop("reason", "The show was cancelled"),
        **kwargs,
    )


def _grant_form(**overrides: str) -> dict[str, str]:
    data = {"kind": "refund", "value": "40.00", "reason": "The show was cancelled", "message": ""}
    data.update(overrides)
    return data


@pytest.fixture
def agent_user() -> Any:
    return UserFactory(role=Role.AGENT, first_name="Ava")


@pytest.fixture
def lead() -> Any:
    return UserFactory(role=Role.LEAD, first_name="Leah")


# --- Who may open what ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/funds/", "/funds/settings/", "/funds/approvals/"])
def test_given_an_agent_when_opening_the_fund_pages_then_403(agent_user: Any, url: str) -> None:
    assert _client(agent_user).get(url).status_code == 403


def test_given_an_agent_then_the_navigation_has_no_funds_but_a_lead_s_has(
    agent_user: Any, lead: Any
) -> None:
    agent_nav = [label for label, _, _ in _client(agent_user).get("/").context["nav_items"]]
    lead_nav = [label for label, _, _ in _client(lead).get("/").context["nav_items"]]

    assert "Funds" not in agent_nav
    assert "Funds" in lead_nav


def test_given_a_lead_when_posting_an_allowance_then_403(lead: Any) -> None:
    response = _client(lead).post(
        "/funds/settings/roles/agent/",
        {"agent-per_case_limit": "1", "agent-period": "month", "agent-period_budget": "1"},
    )

    assert response.status_code == 403
    assert not AllowancePolicy.objects.exists()


# --- The case panel ------------------------------------------------------------------------


def test_given_a_case_when_an_agent_opens_it_then_the_panel_shows_their_limits(
    agent_user: Any,
) -> None:
    case = _case(agent_user)

    page = _client(agent_user).get(f"/cases/{case.pk}/").content.decode()

    assert "Make it right" in page
    assert "Your limit per case" in page
    assert "$150.00" in page
    assert "No gesture granted on this case yet." in page


def test_given_a_gesture_within_the_allowance_when_granted_then_it_is_granted_at_once(
    agent_user: Any,
) -> None:
    case = _case(agent_user)
    client = _client(agent_user)

    response = client.post(f"/funds/cases/{case.pk}/grant/", _grant_form(), follow=True)

    page = response.content.decode()
    assert "Granted: Refund of 40.00" in page
    grant = Grant.objects.get(case=case)
    assert grant.state == Grant.State.GRANTED
    assert f"/funds/grants/{grant.pk}/" in page


def test_given_a_gesture_above_the_allowance_when_granted_then_it_goes_to_a_lead(
    agent_user: Any,
) -> None:
    case = _case(agent_user)

    response = _client(agent_user).post(
        f"/funds/cases/{case.pk}/grant/", _grant_form(value="400.00"), follow=True
    )

    page = response.content.decode()
    assert "Sent for approval to a team lead, answer due by" in page
    assert Grant.objects.get(case=case).state == Grant.State.PENDING


def test_given_no_reason_when_granting_then_the_case_page_shows_the_error_on_the_field(
    agent_user: Any,
) -> None:
    case = _case(agent_user)

    response = _client(agent_user).post(f"/funds/cases/{case.pk}/grant/", _grant_form(reason=""))

    assert response.status_code == 200
    form = response.wsgi_request._funds_grant_form  # type: ignore[attr-defined]
    assert "reason" in form.errors
    assert 'id="funds_reason_error"' in response.content.decode()
    assert not Grant.objects.exists()


def test_given_an_exception_without_its_rule_when_granting_then_the_rule_is_asked_for(
    agent_user: Any,
) -> None:
    case = _case(agent_user)

    response = _client(agent_user).post(
        f"/funds/cases/{case.pk}/grant/", _grant_form(exception_to_policy="on")
    )

    assert "Say which rule this exception bends." in response.content.decode()
    assert not Grant.objects.exists()


# --- The approval queue --------------------------------------------------------------------


def test_given_requests_when_a_lead_opens_the_queue_then_each_shows_the_customer_and_a_countdown(
    agent_user: Any, lead: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(3):
        case = _case(agent_user, name=f"Customer {n}")
        _grant(case, agent_user, "300.00")
    client = _client(lead)
    client.get("/funds/approvals/")  # warm the session and permission caches

    with django_assert_max_num_queries(12):
        response = client.get("/funds/approvals/")

    page = response.content.decode()
    assert page.count('class="card approval"') == 3
    assert "Customer 0" in page
    assert "1 case" in page
    assert "no satisfaction answer yet" in page
    assert "data-due=" in page


def test_given_a_pending_request_when_the_lead_approves_then_the_grant_takes_effect(
    agent_user: Any, lead: Any
) -> None:
    grant = _grant(_case(agent_user), agent_user, "300.00")
    approval = ApprovalRequest.objects.get(grant=grant)

    response = _client(lead).post(
        f"/funds/approvals/{approval.pk}/decide/", {"decision": "approve"}, follow=True
    )

    assert "Approved: Refund of 300.00" in response.content.decode()
    grant.refresh_from_db()
    assert grant.state == Grant.State.GRANTED


def test_given_a_reduction_without_a_value_then_the_queue_asks_for_it(
    agent_user: Any, lead: Any
) -> None:
    grant = _grant(_case(agent_user), agent_user, "300.00")
    approval = ApprovalRequest.objects.get(grant=grant)

    response = _client(lead).post(
        f"/funds/approvals/{approval.pk}/decide/", {"decision": "reduce", "reason": "Too much"}
    )

    assert response.status_code == 200
    assert "Give the value you approve instead." in response.content.decode()
    grant.refresh_from_db()
    assert grant.state == Grant.State.PENDING


def test_given_a_request_above_the_lead_s_own_limit_when_approving_then_the_refusal_is_shown(
    agent_user: Any, lead: Any
) -> None:
    grant = _grant(_case(agent_user), agent_user, "300.00")
    approval = ApprovalRequest.objects.get(grant=grant)
    approval.level = Role.LEAD
    approval.save(update_fields=["level"])
    Grant.objects.filter(pk=grant.pk).update(value=Decimal("300.00"))
    AllowancePolicy.objects.create(
        role=Role.LEAD,
        per_case_limit=Decimal("100.00"),
        period="month",
        period_budget=Decimal("5000.00"),
    )

    response = _client(lead).post(
        f"/funds/approvals/{approval.pk}/decide/", {"decision": "approve"}
    )

    assert response.status_code == 200
    assert 'class="alert alert--error"' in response.content.decode()
    grant.refresh_from_db()
    assert grant.state == Grant.State.PENDING


# --- Balances, ledger, exceptions ----------------------------------------------------------


def test_given_grants_when_a_manager_opens_the_funds_then_balances_and_ledger_show_in_few_queries(
    agent_user: Any, django_assert_max_num_queries: Any
) -> None:
    manager = UserFactory(role=Role.MANAGER)
    for n in range(4):
        _grant(_case(agent_user), agent_user, "20.00", exception_to_policy=n == 0, policy_bent="x")
    client = _client(manager)
    client.get("/funds/")

    # Constant in the number of grants and people (role defaults cost a query each today).
    with django_assert_max_num_queries(30):
        response = client.get("/funds/")

    page = response.content.decode()
    assert response.status_code == 200
    assert agent_user.display_name in page
    assert "$80.00" in page
    assert page.count("<td>Grant</td>") == 4
    # Exceptions are senior management's: a manager does not see the list.
    assert 'id="exceptions"' not in page


def test_given_an_exception_to_policy_then_an_executive_sees_it(agent_user: Any) -> None:
    _grant(
        _case(agent_user),
        agent_user,
        "20.00",
        exception_to_policy=True,
        policy_bent="No refunds after the show",
    )

    page = _client(UserFactory(role=Role.EXECUTIVE)).get("/funds/").content.decode()

    assert 'id="exceptions"' in page
    assert "No refunds after the show" in page


def test_given_the_ledger_filtered_by_person_then_only_their_entries_show(
    agent_user: Any,
) -> None:
    other = UserFactory(role=Role.AGENT)
    _grant(_case(agent_user), agent_user, "20.00")
    _grant(_case(other), other, "30.00")

    response = _client(UserFactory(role=Role.MANAGER)).get(f"/funds/?person={other.pk}")

    entries = response.context["entries"]
    assert [e.person_id for e in entries] == [other.pk]


# --- Settings ------------------------------------------------------------------------------


def test_given_a_manager_when_setting_a_role_s_allowance_then_it_is_saved(
    django_assert_max_num_queries: Any,
) -> None:
    client = _client(UserFactory(role=Role.MANAGER))
    with django_assert_max_num_queries(16):
        assert client.get("/funds/settings/").status_code == 200

    response = client.post(
        "/funds/settings/roles/agent/",
        {"agent-per_case_limit": "175", "agent-period": "week", "agent-period_budget": "600"},
        follow=True,
    )

    assert "Allowance for agents saved." in response.content.decode()
    policy = AllowancePolicy.objects.get(role=Role.AGENT)
    assert (policy.per_case_limit, policy.period) == (Decimal("175.00"), "week")


def test_given_a_negative_limit_then_the_error_shows_on_its_field() -> None:
    client = _client(UserFactory(role=Role.MANAGER))

    response = client.post(
        "/funds/settings/roles/agent/",
        {"agent-per_case_limit": "-5", "agent-period": "week", "agent-period_budget": "600"},
    )

    assert response.status_code == 200
    assert "The per-case limit must be at least 0." in response.content.decode()
    assert not AllowancePolicy.objects.exists()


def test_given_a_manager_when_overriding_one_person_then_it_is_listed(agent_user: Any) -> None:
    client = _client(UserFactory(role=Role.MANAGER))

    response = client.post(
        "/funds/settings/people/",
        {
            "override-user": agent_user.pk,
            "override-per_case_limit": "250",
            "override-period": "",
            "override-period_budget": "",
        },
        follow=True,
    )

    page = response.content.decode()
    assert f"Allowance for {agent_user.display_name} saved." in page
    assert "$250.00" in page


# --- A grant -------------------------------------------------------------------------------


def test_given_a_voucher_when_a_manager_reverses_it_then_the_page_shows_it_reversed(
    agent_user: Any,
) -> None:
    grant = _grant(_case(agent_user), agent_user, "25.00", kind="voucher")
    manager = _client(UserFactory(role=Role.MANAGER))
    page = manager.get(f"/funds/grants/{grant.pk}/").content.decode()
    assert grant.voucher.code in page
    assert "Not redeemed yet" in page

    response = manager.post(
        f"/funds/grants/{grant.pk}/reverse/", {"reason": "Given twice"}, follow=True
    )

    assert "Grant reversed" in response.content.decode()
    grant.refresh_from_db()
    assert grant.state == Grant.State.REVERSED


def test_given_an_agent_then_a_grant_cannot_be_reversed(agent_user: Any) -> None:
    grant = _grant(_case(agent_user), agent_user, "25.00")
    client = _client(agent_user)

    assert "Reverse this grant" not in client.get(f"/funds/grants/{grant.pk}/").content.decode()
    assert client.post(f"/funds/grants/{grant.pk}/reverse/", {"reason": "x"}).status_code == 403
