"""Making things right in a browser: a gesture within the allowance, then one a lead approves."""

from __future__ import annotations

from typing import Any

import pytest

from bounceback.accounts.roles import Role
from bounceback.cases.services import case_open
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Any, username: str) -> None:
    sign_in(page, username, start="/accounts/login/")
    page.get_by_role("navigation", name="Main").wait_for()


def _grant(page: Any, *, value: str, reason: str) -> None:
    panel = page.locator("#funds")
    panel.get_by_text("Grant a gesture…").click()
    panel.get_by_label("Gesture").select_option("refund")
    panel.get_by_label("Value", exact=True).fill(value)
    panel.get_by_label("Why").fill(reason)
    panel.get_by_label("The customer asked for this").check()
    panel.get_by_role("button", name="Grant", exact=True).click()


def test_a_gesture_within_the_allowance_then_one_a_lead_approves(
    page: Any, live_server: Any
) -> None:
    agent = UserFactory(username="ava", role=Role.AGENT, first_name="Ava")
    UserFactory(username="leah", role=Role.LEAD, first_name="Leah")
    case = case_open(
        customer=CustomerFactory(name="Grace Hopper"), summary="Show cancelled", actor=agent
    )

    # The agent: 40 is within an agent's 150 per case, so it is granted at once.
    _sign_in(page, "ava")
    page.goto(f"/cases/{case.pk}/")
    _grant(page, value="40", reason="The show was cancelled at the door")
    page.get_by_text("Granted: Refund of 40.00").wait_for()
    grants = page.locator("#funds-grants")
    assert "Granted" in grants.locator(".funds-grant").first.inner_text()

    # 300 more on the same case is above the limit: it waits for a lead.
    _grant(page, value="300", reason="They travelled four hours for it")
    page.get_by_text("Sent for approval to a team lead, answer due by").wait_for()
    assert "Waiting for approval" in grants.locator(".funds-grant").first.inner_text()

    # The lead, in a browser of their own, sees it in the queue with the customer
    # and a countdown, and approves.
    context = page.context.browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    _sign_in(page, "leah")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("More").click()  # Funds sits under More, keeping the bar to one line
    nav.get_by_role("link", name="Funds").click()
    page.get_by_role("link", name="Approvals").click()
    request = page.locator(".approval").filter(has_text="Grace Hopper")
    request.get_by_text("They travelled four hours for it").wait_for()
    assert request.locator("[data-due]").count() == 1
    request.get_by_role("button", name="Approve").click()
    page.get_by_text("Approved: Refund of 300.00").wait_for()

    # Back on the case, both gestures are in effect.
    page.goto(f"/cases/{case.pk}/")
    states = page.locator("#funds-grants .funds-grant").all_inner_texts()
    assert len(states) == 2
    assert all("Granted" in text for text in states), states
    context.close()
