"""Accessibility in a real browser: axe-core on the main pages of every role, and the
navigation at 1280 px."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bounceback.accounts.roles import Role
from bounceback.cases.services import case_apologise, case_note_add, case_open
from bounceback.funds.services import grant_create
from bounceback.replies.services import canned_reply_create
from bounceback.testing.accessibility import axe_violations, describe, navigation_fits
from bounceback.testing.breakdowns_factories import make_breakdown
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SINCERE = (
    "Maria, I'm sorry: the show stopped because our generator failed and we did not tell you. "
    "That was our mistake. I will refund both tickets today, and we now test the generator "
    "before every show so this does not happen again."
)


def _sign_in(page: Any, username: str) -> None:
    sign_in(page, username, start="/accounts/login/")
    page.wait_for_url("**/")


def _world() -> dict[str, Any]:
    agent = UserFactory(username="riley", role=Role.AGENT, first_name="Riley")
    lead = UserFactory(username="rosa", role=Role.LEAD, first_name="Rosa")
    admin = UserFactory(username="ada", role=Role.ADMIN, first_name="Ada")
    customer = CustomerFactory(name="Maria Gonzalez", email="maria@example.com")
    case = case_open(customer=customer, summary="Show stopped", actor=agent, assignee=agent)
    case = case_apologise(case=case, actor=agent, body=SINCERE)
    case_note_add(case=case, actor=agent, body="@rosa she is a regular")
    grant_create(case=case, actor=agent, kind="refund", value=Decimal("400"), reason="Show")
    fresh = case_open(customer=CustomerFactory(), summary="Car not ready", actor=agent)
    reply = canned_reply_create(title="Update", purpose="update", body="On its way.", actor=lead)
    breakdown = make_breakdown(actor=lead)
    # A bulk action worked through in the background, with a refusal to list.
    from bounceback.cases.models import CaseBulkRun
    from bounceback.cases.services import cases_bulk_run_work

    run = CaseBulkRun.objects.create(
        action="close",
        case_ids=[case.pk, fresh.pk],
        total=2,
        requested_by=agent,
        actor_label=str(agent),
        back_url="/cases/",
    )
    cases_bulk_run_work(run_id=run.pk)
    return {
        "agent": agent,
        "lead": lead,
        "admin": admin,
        "case": case,
        "fresh": fresh,
        "customer": customer,
        "reply": reply,
        "breakdown": breakdown,
        "run": run,
    }


def test_the_main_pages_have_no_serious_accessibility_violation(
    page: Any, screenshot_dir: Any
) -> None:
    world = _world()
    pages = {
        "agent": [
            "/",
            "/cases/",
            f"/cases/{world['case'].pk}/",
            f"/cases/{world['fresh'].pk}/",
            "/cases/new/",
            "/cases/?view=segment",
            "/search/?q=show",
            f"/cases/bulk/{world['run'].pk}/",
            "/customers/",
            f"/customers/{world['customer'].pk}/",
            "/breakdowns/",
            "/replies/",
            "/notifications/",
        ],
        "lead": ["/", f"/breakdowns/{world['breakdown'].pk}/", f"/replies/{world['reply'].pk}/"],
        "admin": ["/", "/catalog/", "/playbooks/", "/funds/", "/teams/"],
    }
    problems: list[str] = []
    for role, paths in pages.items():
        page.context.clear_cookies()
        _sign_in(page, world[role].username)
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            violations = axe_violations(page)
            if violations:
                problems.append(f"{path} as {role}:\n{describe(violations)}")
            if path == "/":
                page.screenshot(path=str(screenshot_dir / f"home-{role}-1280.png"))
            if not navigation_fits(page):
                problems.append(f"{path} as {role}: the navigation overflows at 1280 px")
    assert not problems, "\n".join(problems)
