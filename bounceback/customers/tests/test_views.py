from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.customers.models import Customer
from bounceback.customers.selectors import TimelineCursor, customer_timeline_page
from bounceback.testing.factories import (
    CustomerFactory,
    InteractionFactory,
    TransactionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


# --- List and search ------------------------------------------------------------


def test_list_shows_customers_by_name(agent_client: Client) -> None:
    CustomerFactory(name="Zoe Zimmer")
    CustomerFactory(name="Adam Abbott")

    response = agent_client.get(reverse("customers:list"))

    assert response.status_code == 200
    names = [c.name for c in response.context["customers"]]
    assert names == ["Adam Abbott", "Zoe Zimmer"]
    assert b"<html" in response.content


def test_search_with_a_plain_get_form(agent_client: Client) -> None:
    CustomerFactory(name="Grace Hopper", email="grace@navy.example")
    CustomerFactory(name="Alan Turing")

    response = agent_client.get(reverse("customers:list"), {"q": "navy"})

    assert [c.name for c in response.context["customers"]] == ["Grace Hopper"]
    assert 'value="navy"' in response.content.decode()


def test_htmx_search_answers_with_the_results_fragment(agent_client: Client) -> None:
    CustomerFactory(name="Grace Hopper")
    CustomerFactory(name="Alan Turing")

    response = agent_client.get(reverse("customers:list"), {"q": "alan"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith("{% load") is False
    assert 'id="customer-results"' in html
    assert "Alan Turing" in html
    assert "Grace Hopper" not in html
    assert "HX-Request" in response["Vary"]


def test_search_without_a_match_says_so(agent_client: Client) -> None:
    CustomerFactory(name="Grace Hopper")

    response = agent_client.get(reverse("customers:list"), {"q": "nobody"})

    assert "No customer matches" in response.content.decode()


def test_list_is_paginated(agent_client: Client) -> None:
    for i in range(30):
        CustomerFactory(name=f"Customer {i:02d}")

    first = agent_client.get(reverse("customers:list"))
    second = agent_client.get(reverse("customers:list"), {"page": 2})

    assert len(first.context["customers"]) == 25
    assert len(second.context["customers"]) == 5
    assert "Page 1 of 2" in first.content.decode()


def test_list_query_count_does_not_grow_with_rows(
    agent_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(40):
        CustomerFactory(name=f"Customer {i:02d}", phone=f"+4420794{i:05d}")

    with django_assert_max_num_queries(10):
        agent_client.get(reverse("customers:list"))
    with django_assert_max_num_queries(10):
        agent_client.get(reverse("customers:list"), {"q": "Customer"})


def test_users_without_customer_access_are_refused(client: Client) -> None:
    from django.contrib.auth.models import Group

    user = UserFactory(role=Role.AGENT)
    user.groups.set([Group.objects.get_or_create(name="nothing")[0]])
    client.force_login(user)

    assert client.get(reverse("customers:list")).status_code == 403
    assert client.get(reverse("customers:create")).status_code == 403


# --- New customer ------------------------------------------------------------------


def _new_customer(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Ada Lovelace",
        "emails": "ada@example.com\nada.work@example.com",
        "phones": "+44 20 7946 0958",
        "preferred_channel": "phone",
        "locale": "en-GB",
        "time_zone": "Europe/London",
        "tags": "vip, analytical",
        "notes": "Prefers calls after 10am.",
    }
    data.update(overrides)
    return data


def test_new_customer_form_renders(agent_client: Client) -> None:
    response = agent_client.get(reverse("customers:create"))

    html = response.content.decode()
    assert response.status_code == 200
    for name in ("name", "emails", "phones", "preferred_channel", "locale", "time_zone"):
        assert f'name="{name}"' in html
    assert '<label for="id_name">' in html


def test_creating_a_customer_opens_their_page(agent_client: Client) -> None:
    response = agent_client.post(reverse("customers:create"), _new_customer(), follow=True)

    customer = Customer.objects.get()
    assert response.redirect_chain[-1][0] == reverse("customers:detail", args=[customer.pk])
    assert [e.address for e in customer.emails.all()] == [
        "ada@example.com",
        "ada.work@example.com",
    ]
    assert [p.number for p in customer.phones.all()] == ["+442079460958"]
    assert customer.tags == ["analytical", "vip"]
    assert customer.time_zone == "Europe/London"
    assert "Ada Lovelace was added." in response.content.decode()


def test_a_duplicate_email_is_an_error_on_the_email_field(agent_client: Client) -> None:
    CustomerFactory(name="Augusta King", email="ada@example.com")

    response = agent_client.post(reverse("customers:create"), _new_customer())

    assert response.status_code == 200
    form = response.context["form"]
    assert "already belongs to customer" in form.errors["emails"][0]
    assert "emails" in form.errors and len(form.errors) == 1
    html = response.content.decode()
    assert 'id="id_emails_error"' in html
    assert 'aria-invalid="true"' in html
    assert Customer.objects.count() == 1


def test_a_duplicate_phone_is_an_error_on_the_phone_field(agent_client: Client) -> None:
    CustomerFactory(name="Augusta King", email=False, phone="+442079460958")

    response = agent_client.post(reverse("customers:create"), _new_customer(emails=""))

    assert "already belongs to customer" in response.context["form"].errors["phones"][0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("emails", "not-an-email", "is not a valid email address"),
        ("phones", "12", "is not a valid phone number"),
        ("time_zone", "Mars/Olympus", "unknown time zone"),
        ("locale", "!!", "is not a locale"),
    ],
)
def test_invalid_values_show_on_their_field(
    agent_client: Client, field: str, value: str, message: str
) -> None:
    response = agent_client.post(reverse("customers:create"), _new_customer(**{field: value}))

    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert Customer.objects.count() == 0


# --- Customer page and timeline ----------------------------------------------------


def test_customer_page_shows_profile_value_and_timeline(agent_client: Client) -> None:
    customer = CustomerFactory(name="Grace Hopper", email="grace@example.com", phone="+15551234567")
    TransactionFactory(customer=customer, product="Evening show", amount="40.00")
    InteractionFactory(customer=customer, subject="Show cancelled", body="The lights went out.")

    response = agent_client.get(reverse("customers:detail", args=[customer.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Grace Hopper" in html
    assert "grace@example.com" in html
    assert "+15551234567" in html
    assert "$40.00" in html
    assert "Evening show" in html
    assert "The lights went out." in html
    # Newest first: the interaction (now) before the transaction (yesterday).
    assert html.index("The lights went out.") < html.index("Evening show")
    # Both entry forms are on the page.
    assert 'name="interaction-body"' in html
    assert 'name="transaction-amount"' in html
    assert 'value="USD"' in html


def test_an_unknown_customer_is_404(agent_client: Client) -> None:
    assert agent_client.get(reverse("customers:detail", args=[999999])).status_code == 404


def test_customer_page_query_count_does_not_grow_with_history(
    agent_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory()
    for _ in range(30):
        TransactionFactory(customer=customer)
        InteractionFactory(customer=customer)

    with django_assert_max_num_queries(16):
        agent_client.get(reverse("customers:detail", args=[customer.pk]))


def test_load_more_pages_through_the_whole_timeline(agent_client: Client) -> None:
    customer = CustomerFactory()
    now = timezone.now()
    for i in range(25):
        InteractionFactory(
            customer=customer, body=f"note {i}", occurred_at=now - timedelta(hours=i)
        )
    for i in range(10):
        TransactionFactory(
            customer=customer,
            product=f"order {i}",
            occurred_at=now - timedelta(hours=i, minutes=30),
        )

    page = agent_client.get(reverse("customers:detail", args=[customer.pk]))
    seen = [e.id for e in page.context["entries"]]
    cursor = page.context["next_cursor"]
    assert len(seen) == 20
    while cursor is not None:
        more = agent_client.get(
            reverse("customers:timeline", args=[customer.pk]),
            {"before": cursor.encode()},
            HTTP_HX_REQUEST="true",
        )
        assert more.status_code == 200
        assert "<html" not in more.content.decode()
        seen += [e.id for e in more.context["entries"]]
        cursor = more.context["next_cursor"]

    assert len(seen) == 35
    assert "That's the whole history." in more.content.decode()


def test_load_more_does_not_skip_entries_sharing_a_time() -> None:
    customer = CustomerFactory()
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(7):
        TransactionFactory(customer=customer, occurred_at=midnight)
        InteractionFactory(customer=customer, occurred_at=midnight)

    seen: list[tuple[str, int]] = []
    cursor: TimelineCursor | None = None
    while True:
        entries, cursor = customer_timeline_page(customer=customer, after=cursor, limit=3)
        seen += [(e.kind, e.id) for e in entries]
        if cursor is None:
            break

    assert len(seen) == 14
    assert len(set(seen)) == 14


def test_load_more_without_htmx_is_a_page_and_a_bad_cursor_is_400(agent_client: Client) -> None:
    customer = CustomerFactory()
    InteractionFactory(
        customer=customer, body="old news", occurred_at=timezone.now() - timedelta(days=3)
    )
    url = reverse("customers:timeline", args=[customer.pk])

    page = agent_client.get(url, {"before": timezone.now().isoformat()})
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert "old news" in page.content.decode()
    assert agent_client.get(url, {"before": "yesterday"}).status_code == 400


def test_timeline_cursor_round_trips() -> None:
    at = timezone.now()
    cursor = TimelineCursor(at=at, kind="transaction", id=42)

    assert TimelineCursor.decode(cursor.encode()) == cursor
    assert TimelineCursor.decode(at.isoformat()) == TimelineCursor(at=at)
    assert TimelineCursor.decode("nonsense") is None
    assert TimelineCursor.decode(f"{at.isoformat()},order,1") is None


def test_given_identities_matching_when_searching_then_each_customer_shows_once(
    agent_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from bounceback.customers.models import CustomerEmail

    grace = CustomerFactory(name="Grace Hopper", email="grace@navy.example", phone="+442079400001")
    CustomerEmail.objects.create(customer=grace, address="g.hopper@navy.example")
    CustomerFactory(name="Navy Pier Tours")
    CustomerFactory(name="Alan Turing", phone="+442079499999")

    with django_assert_max_num_queries(10):
        by_word = agent_client.get(reverse("customers:list"), {"q": "navy"})
    by_phone = agent_client.get(reverse("customers:list"), {"q": "207 940 0001"})

    assert [c.name for c in by_word.context["customers"]] == ["Grace Hopper", "Navy Pier Tours"]
    assert by_word.context["page_obj"].paginator.count == 2
    assert [c.name for c in by_phone.context["customers"]] == ["Grace Hopper"]
