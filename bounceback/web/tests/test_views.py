from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.testing.factories import (
    CustomerFactory,
    InteractionFactory,
    TransactionFactory,
    UserFactory,
)
from bounceback.web.selectors import week_start

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    "/",
    "/customers/",
    "/customers/new/",
    "/transactions/",
    "/audit/",
    "/staff/",
    "/settings/tokens/",
    "/accounts/password/",
]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_every_staff_page_sends_anonymous_visitors_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={path}"


def test_customer_pages_need_sign_in_too(client: Client) -> None:
    customer = CustomerFactory()

    for path in (
        f"/customers/{customer.pk}/",
        f"/customers/{customer.pk}/timeline/?before=2026-01-01T00:00:00Z",
    ):
        assert client.get(path).status_code == 302
    response = client.post(
        f"/customers/{customer.pk}/interactions/new/",
        {
            "interaction-channel": "phone",
            "interaction-direction": "inbound",
            "interaction-body": "x",
        },
    )
    assert response.status_code == 302
    assert customer.interactions.count() == 0


def test_health_check_and_sign_in_page_are_public(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get(reverse("login")).status_code == 200


def test_home_shows_this_weeks_numbers_and_recent_interactions(agent_client: Client) -> None:
    start = week_start()
    old_customer = CustomerFactory(name="Old Timer")
    TransactionFactory(customer=old_customer, occurred_at=start - timedelta(days=2))
    TransactionFactory(customer=old_customer, occurred_at=start + timedelta(minutes=5))
    InteractionFactory(customer=old_customer, subject="Late delivery", occurred_at=timezone.now())

    response = agent_client.get("/")

    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    assert dashboard.customer_count == 1
    assert dashboard.transactions_this_week == 1
    assert dashboard.interactions_this_week == 1
    html = response.content.decode()
    assert "Late delivery" in html
    assert "Old Timer" in html
    assert 'name="q"' in html  # the quick search


def test_home_query_count_does_not_grow_with_data(
    agent_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(12):
        customer = CustomerFactory()
        InteractionFactory(customer=customer)
        TransactionFactory(customer=customer)

    # One more than before for the agent's own overdue and due-soon cases, and five for the
    # agent's dashboard tiles (issue 17: two tiles, the filters' site, team, segment choices).
    with django_assert_max_num_queries(16):
        agent_client.get("/")


def test_navigation_shows_only_what_the_role_may_open(client: Client) -> None:
    agent = UserFactory(role=Role.AGENT)
    client.force_login(agent)
    labels = [label for label, _, _ in client.get("/").context["nav_items"]]
    assert labels == [
        "Home",
        "Cases",
        "Breakdowns",
        "Customers",
        "Mail",
        "Segments",
        "Transactions",
        "Catalog",
        "Playbooks",
        "Drills",
        "Replies",
        "Learning",
        "Stories",
    ]

    client.force_login(UserFactory(role=Role.MANAGER))
    labels = [label for label, _, _ in client.get("/").context["nav_items"]]
    assert "Audit log" in labels
    assert "API tokens" not in labels

    client.force_login(UserFactory(role=Role.ADMIN))
    labels = [label for label, _, _ in client.get("/customers/").context["nav_items"]]
    assert labels == [
        "Home",
        "Cases",
        "Breakdowns",
        "Discovery",
        "Customers",
        "Mail",
        "Segments",
        "Loyalty",
        "Transactions",
        "Catalog",
        "Playbooks",
        "Drills",
        "Replies",
        "Learning",
        "Stories",
        "Funds",
        "Integrations",
        "Deliveries",
        "Audit log",
        "Teams",
        "Staff",
        "API tokens",
    ]
    current = [
        label
        for label, _, is_current in client.get("/customers/").context["nav_items"]
        if is_current
    ]
    assert current == ["Customers"]


def test_forbidden_pages_answer_with_the_403_page(agent_client: Client) -> None:
    response = agent_client.get("/settings/tokens/")

    assert response.status_code == 403
    assert "You don't have access to this page" in response.content.decode()


def test_pages_carry_the_csrf_token_for_htmx(agent_client: Client) -> None:
    html = agent_client.get("/").content.decode()

    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "bounceback/vendor/htmx.min.js" in html
    assert "bounceback/web/app.css" in html


@pytest.mark.parametrize(
    "path",
    [
        "bounceback/vendor/htmx.min.js",
        "bounceback/web/app.css",
        "bounceback/web/app.js",
        "bounceback/web/favicon.svg",
    ],
)
def test_the_static_files_the_layout_uses_are_found(path: str) -> None:
    from django.contrib.staticfiles import finders

    assert finders.find(path), f"{path} is not in any app's static folder"


def test_htmx_requests_after_the_session_ends_send_the_window_to_sign_in(client: Client) -> None:
    customer = CustomerFactory()

    response = client.get(
        "/customers/",
        {"q": "x"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/customers/{customer.pk}/",
    )

    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/customers/{customer.pk}/"


def test_an_expired_form_gets_a_readable_csrf_page() -> None:
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(reverse("logout"))

    assert response.status_code == 403
    assert "That form had expired" in response.content.decode()
