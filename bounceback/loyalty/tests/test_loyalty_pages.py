"""The loyalty page and API: who may see them, the drill-down, exports and refusals."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.testing.factories import CustomerFactory, TransactionFactory, UserFactory
from bounceback.testing.funds_factories import open_case

pytestmark = pytest.mark.django_db


def satisfied_customer(days_ago: int = 100, back_after: int | None = 10) -> object:
    customer = CustomerFactory()
    now = timezone.now()
    TransactionFactory(customer=customer, occurred_at=now - timedelta(days=days_ago + 200))
    case = open_case(customer=customer)
    at = now - timedelta(days=days_ago)
    Case.objects.filter(pk=case.pk).update(
        created_at=at,
        fixed_at=at + timedelta(minutes=10),
        satisfied=True,
        status=Case.Status.CLOSED,
        closed_at=at + timedelta(days=1),
    )
    if back_after is not None:
        TransactionFactory(
            customer=customer,
            occurred_at=at + timedelta(days=back_after),
            amount=Decimal("42.00"),
        )
    return customer


def test_agents_are_refused_and_managers_see_the_charts(client) -> None:
    satisfied_customer()
    client.force_login(UserFactory(role=Role.AGENT))
    assert client.get("/loyalty/").status_code == 403

    client.force_login(UserFactory(role=Role.MANAGER))
    page = client.get("/loyalty/")

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role=') == 2
    assert "Bought again within 90 days" in html
    assert "70%" in html and "Lee Resources" in html


def test_a_bar_drills_down_to_the_customers_behind_it(client) -> None:
    customer = satisfied_customer()
    client.force_login(UserFactory(role=Role.LEAD))
    html = client.get("/loyalty/").content.decode()

    link = re.search(r'<a href="(/loyalty/cohorts/recovered_satisfied/[^"]*)">', html)
    assert link
    members = client.get(link.group(1).replace("&amp;", "&"))

    assert members.status_code == 200
    assert customer.name in members.content.decode()


def test_the_cohort_table_exports_as_csv(client) -> None:
    satisfied_customer()
    client.force_login(UserFactory(role=Role.EXECUTIVE))

    response = client.get("/loyalty/?format=csv")

    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("cohort,customers,returned_30,of_30")
    assert lines[1].startswith('"Recovered, satisfied",1,1,1,1,1')


def test_a_period_that_ends_before_it_starts_is_refused_with_the_reason(client) -> None:
    client.force_login(UserFactory(role=Role.MANAGER))

    page = client.get("/loyalty/?since=2026-05-01&until=2026-01-01")

    assert page.status_code == 400
    assert "must start on or before its last day" in page.content.decode()


def test_api_answers_the_cohorts_with_intervals(make_token_client) -> None:
    satisfied_customer()
    satisfied_customer(back_after=None)
    api = make_token_client("loyalty:read")

    body = api.get("/api/loyalty/").json()

    cohort = next(c for c in body["cohorts"] if c["key"] == "recovered_satisfied")
    ninety = next(r for r in cohort["returned"] if r["days"] == 90)
    assert (ninety["returned"], ninety["watched"], ninety["rate"]) == (1, 2, 0.5)
    assert 0 < ninety["low"] < 0.5 < ninety["high"] < 1
    assert cohort["curve"][0]["not_yet_back"] == 1.0
    assert [r["value"] for r in body["references"]][:1] == [0.7]


def test_api_refuses_bad_periods_and_missing_scopes(make_token_client) -> None:
    reader = make_token_client("loyalty:read")

    backwards = reader.get("/api/loyalty/?since=2026-05-01&until=2026-01-01")
    ancient = reader.get("/api/loyalty/?since=0001-01-01")
    unknown = reader.get("/api/loyalty/cohorts/everyone")
    other = make_token_client("cases:read").get("/api/loyalty/")

    assert backwards.status_code == 422 and backwards.json()["field"] == "since"
    assert ancient.status_code == 422 and ancient.json()["field"] == "since"
    assert unknown.status_code == 404
    assert other.status_code == 403


def test_the_report_takes_the_same_queries_for_ten_customers_as_for_two(
    make_token_client, django_assert_max_num_queries
) -> None:
    api = make_token_client("loyalty:read")
    for _ in range(2):
        satisfied_customer()
    with django_assert_max_num_queries(20) as few:
        api.get("/api/loyalty/")
    for _ in range(8):
        satisfied_customer()

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.get("/api/loyalty/").status_code == 200
