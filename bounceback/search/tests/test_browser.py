"""The daily desk in a real browser: the search box, a saved view, two people in two zones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bounceback.accounts.roles import Role
from bounceback.cases.services import case_log_customer_message, case_open
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import CustomerFactory, SiteFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Any, username: str) -> None:
    sign_in(page, username)
    page.get_by_role("link", name="Cases").first.wait_for()


def test_the_search_box_finds_a_case_by_a_customers_words_and_by_reference(
    page: Any, screenshot_dir: Path
) -> None:
    agent = UserFactory(username="sam", role=Role.AGENT)
    customer = CustomerFactory(name="Nia Brooks", email="nia@example.com")
    case = case_open(customer=customer, summary="Room not cleaned", actor=agent)
    case_log_customer_message(case=case, actor=agent, body="The minibar was empty and sticky.")
    case_open(customer=CustomerFactory(), summary="Late checkout refused", actor=agent)

    _sign_in(page, agent.username)
    page.get_by_role("searchbox", name="Search cases").first.fill("minibar")
    page.keyboard.press("Enter")

    page.locator("#search-results mark", has_text="minibar").wait_for()
    assert page.locator(".search__hit").count() == 1
    page.screenshot(path=str(screenshot_dir / "search-results.png"), full_page=True)
    page.get_by_role("link", name=f"{case.reference} Room not cleaned").click()
    page.wait_for_url(f"**/cases/{case.pk}/")

    # A reference opens its case directly.
    page.get_by_role("searchbox", name="Search cases").first.fill(case.reference or "")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{case.pk}/")


def test_a_saved_view_comes_back_with_its_filters(page: Any) -> None:
    agent = UserFactory(username="lee", role=Role.AGENT)
    north = SiteFactory(code="north", name="North Hotel")
    SiteFactory(code="south", name="South Hotel")
    case_open(customer=CustomerFactory(), summary="Noisy room at North", site=north, actor=agent)
    case_open(customer=CustomerFactory(), summary="Cold breakfast", actor=agent)

    _sign_in(page, agent.username)
    page.goto("/cases/?view=all")
    page.get_by_label("Site").select_option("north")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("Noisy room at North").wait_for()
    page.get_by_label("Save this view as").fill("North, everything")
    page.get_by_role("button", name="Save view").click()

    page.get_by_text("View “North, everything” saved.").wait_for()
    page.goto("/cases/")
    page.get_by_role("link", name="North, everything").click()
    page.get_by_text("Noisy room at North").wait_for()
    assert page.get_by_text("Cold breakfast").count() == 0
    assert "site=north" in page.url


def test_two_people_in_two_zones_see_their_own_clocks(page: Any, browser: Any) -> None:
    paris = UserFactory(username="amelie", role=Role.AGENT, time_zone="Europe/Paris")
    UserFactory(username="jake", role=Role.AGENT, time_zone="America/New_York")
    case_open(
        customer=CustomerFactory(),
        summary="Shuttle never came",
        actor=paris,
        opened_at=datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
    )

    _sign_in(page, "amelie")
    page.goto("/cases/?view=all")
    assert page.locator("td[data-label=Opened]").first.inner_text().strip() == "10 Mar, 13:00"

    other = browser.new_context(base_url=page.url.split("/cases/")[0])
    second = other.new_page()
    _sign_in(second, "jake")
    second.goto("/cases/?view=all")
    assert second.locator("td[data-label=Opened]").first.inner_text().strip() == "10 Mar, 08:00"
    assert second.get_by_text("Time zone: America/New_York").count() == 1
    other.close()
