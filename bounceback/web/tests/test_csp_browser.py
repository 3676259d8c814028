"""Under the Content-Security-Policy the pages still work, and the browser refuses nothing.

Chromium reports every blocked script, style or connection as a console error
("Refused to ..."); a page that needs one would be broken for real users.
"""

from __future__ import annotations

from typing import Any

import pytest

from bounceback.accounts.roles import Role
from bounceback.testing.factories import PASSWORD, CustomerFactory, UserFactory
from bounceback.testing.funds_factories import open_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_main_pages_and_htmx_run_with_no_policy_violation(page: Any) -> None:
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: refused.append(f"page error: {error}"))
    UserFactory(username="ada", role=Role.ADMIN)
    case = open_case(customer=CustomerFactory(name="Grace Hopper"))

    page.goto("/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    links = page.eval_on_selector_all("nav.mainnav a", "links => links.map(a => a.pathname)")
    for path in [*links, f"/cases/{case.pk}/", f"/customers/{case.customer_id}/", "/report/"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")

    # htmx still swaps: the live customer search answers as we type.
    page.goto("/customers/")
    page.locator("#customer-q").fill("Grace")
    page.get_by_role("link", name="Grace Hopper").first.wait_for()

    assert len(links) >= 5
    assert refused == []
