"""The staff UI in a real browser: sign in, find a customer, log a call, see it on the timeline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.interactions.models import Interaction
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import (
    CustomerFactory,
    InteractionFactory,
    TransactionFactory,
    UserFactory,
)
from bounceback.transactions.services import transaction_upsert

# Playwright's sync API runs an event loop on this thread, so the `browser`
# fixture (conftest.py) sets DJANGO_ALLOW_ASYNC_UNSAFE while this module runs,
# before any test touches the ORM, and restores it afterwards: setting it at
# import time would leak into every other test and their subprocesses.

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_wrong_password_shows_an_error(page: Any) -> None:
    user = UserFactory(username="casey")

    sign_in(page, user.username, password="definitely wrong")

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "username and password don't match" in alert.inner_text()
    assert "/accounts/login/" in page.url
    assert page.get_by_label("Username").input_value() == "casey"


def test_find_a_customer_log_a_call_and_see_it_on_the_timeline(page: Any) -> None:
    agent = UserFactory(username="riley", role=Role.AGENT, first_name="Riley")
    grace = CustomerFactory(name="Grace Hopper", email="grace@example.com")
    CustomerFactory(name="Alan Turing")
    CustomerFactory(name="Ada Lovelace")
    TransactionFactory(customer=grace, product="Evening show")

    sign_in(page, agent.username)
    page.get_by_role("heading", name="Welcome back, Riley").wait_for()

    # Find her with the live search (htmx swaps the results as we type).
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="Alan Turing").wait_for()
    page.get_by_label("Search customers").press_sequentially("hopp", delay=30)
    page.get_by_role("link", name="Alan Turing").wait_for(state="detached")
    assert "q=hopp" in page.url
    page.get_by_role("link", name="Grace Hopper").click()
    page.get_by_role("heading", name="Grace Hopper", level=1).wait_for()

    # Log the phone call; htmx posts it without leaving the page.
    page.evaluate("window.__samePage = true")
    form = page.locator("#interaction-entry")
    form.get_by_label("Channel").select_option("phone")
    form.get_by_label("Direction").select_option("inbound")
    form.get_by_label("Subject").fill("Power cut mid-show")
    form.get_by_label("What was said").fill("Lights went out for 40 minutes; wants a refund.")
    form.get_by_role("button", name="Log interaction").click()

    timeline = page.locator("#timeline")
    entry = timeline.locator(".tl--interaction").first
    entry.get_by_text("Lights went out for 40 minutes; wants a refund.").wait_for()
    assert "Power cut mid-show" in entry.inner_text()
    assert "Phone" in entry.inner_text()
    assert page.evaluate("window.__samePage") is True
    assert "Interaction logged" in page.locator("#messages").inner_text()
    # The form is ready for the next entry.
    assert page.locator("#interaction-entry").get_by_label("What was said").input_value() == ""

    stored = Interaction.objects.get()
    assert stored.customer_id == grace.pk
    assert stored.author_id == agent.pk


def test_validation_messages_and_load_more(page: Any) -> None:
    agent = UserFactory(role=Role.AGENT)
    customer = CustomerFactory(name="Busy Customer")
    now = timezone.now()
    for i in range(30):
        InteractionFactory(
            customer=customer, body=f"entry {i:02d}", occurred_at=now - timedelta(hours=i)
        )

    sign_in(page, agent.username)
    page.goto(f"/customers/{customer.pk}/")

    # An empty amount comes back as a message on the field, not a page error.
    page.get_by_text("Add a transaction").click()
    tx_form = page.locator("#transaction-entry")
    tx_form.get_by_label("Amount").fill("")
    tx_form.get_by_role("button", name="Add transaction").click()
    page.locator("#id_transaction-amount_error").wait_for()
    assert "This field is required." in page.locator("#id_transaction-amount_error").inner_text()
    assert page.locator("#id_transaction-amount").get_attribute("aria-invalid") == "true"

    # "Load older entries" appends the next page in place.
    entries = page.locator("#timeline .tl--interaction")
    assert entries.count() == 20
    page.get_by_role("link", name="Load older entries").click()
    page.get_by_text("That's the whole history.").wait_for()
    assert entries.count() == 30
    assert "entry 29" in entries.last.inner_text()


def _screenshot_both_widths(page: Any, path: str, name: str, directory: Path) -> list[Path]:
    shots = []
    for label, size in (("desktop", (1366, 900)), ("phone", (390, 844))):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.goto(path)
        page.wait_for_load_state("networkidle")
        shot = directory / f"{name}-{label}.png"
        page.screenshot(path=str(shot), full_page=label == "desktop")
        shots.append(shot)
    return shots


def test_screenshots_of_home_and_customer_page(
    page: Any, screenshot_dir: Path, settings: Any
) -> None:
    """Not an assertion on looks: saves the pages at desktop and phone widths for review."""
    admin = UserFactory(role=Role.ADMIN, first_name="Morgan")
    customer = CustomerFactory(
        name="Maria Gonzalez", email="maria@example.com", phone="+442079460000"
    )
    transaction_upsert(
        data={
            "customer_id": customer.pk,
            "kind": "booking",
            "amount": "120.00",
            "currency": settings.BOUNCEBACK_CURRENCY,
            "occurred_at": timezone.now() - timedelta(days=2),
            "site": "downtown",
            "product": "Evening show",
            "external_id": "BK-1042",
        }
    )
    InteractionFactory(
        customer=customer,
        subject="Show cancelled mid-way",
        body="The power went out halfway through and nobody told us what was happening.",
    )
    sign_in(page, admin.username)
    page.get_by_role("heading", name="Welcome back, Morgan").wait_for()

    shots = _screenshot_both_widths(page, "/", "home", screenshot_dir)
    shots += _screenshot_both_widths(page, f"/customers/{customer.pk}/", "customer", screenshot_dir)

    for shot in shots:
        assert shot.stat().st_size > 10_000
    # On a phone the page must not scroll sideways.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
