"""A drill in a real browser: a manager starts it from the library, an agent answers
the injected complaints in the normal case page, the debrief shows their scores,
and nothing left the sandbox (a real SMTP server on loopback received nothing)."""

# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from bounceback.accounts.roles import Role
from bounceback.background.deliveries import deliveries_run_due
from bounceback.cases.services import case_apologise
from bounceback.drills.models import Drill, DrillInject
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.accessibility import axe_violations, describe
from bounceback.testing.drills_factories import make_scenario
from bounceback.testing.factories import PASSWORD, UserFactory
from bounceback.testing.funds_factories import open_case
from bounceback.testing.smtp import TestSmtpServer

# The browser fixtures are the staff UI's (see bounceback/web/tests/conftest.py).
from bounceback.web.tests.conftest import (  # noqa: F401
    _allow_orm_beside_playwright,
    browser,
    page,
    screenshot_dir,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SINCERE = (
    "Morgan, I'm sorry: the show stopped because our generator failed and we did not tell "
    "you what was happening. That was our mistake. I will refund your tickets today, and "
    "from now on we test the generator before every show so this does not happen again."
)


@pytest.fixture
def smtp() -> Iterator[TestSmtpServer]:
    server = TestSmtpServer().start()
    with override_settings(**server.settings()):
        yield server
    server.stop()


def _sign_in(page: Any, username: str) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_manager_runs_a_drill_an_agent_answers_and_the_debrief_scores_them(
    page: Any, browser: Any, live_server: Any, smtp: TestSmtpServer, screenshot_dir: Any
) -> None:
    manager = UserFactory(username="marcus", role=Role.MANAGER, first_name="Marcus")
    agent = UserFactory(username="ava", role=Role.AGENT, first_name="Ava", last_name="Thompson")
    scenario = make_scenario(actor=manager)
    # A drill runs several pages end to end: be patient with a busy machine.
    page.set_default_timeout(30_000)

    # Given a manager in the drills library, when they start a drill of a scenario
    _sign_in(page, manager.username)
    page.goto("/drills/")
    page.screenshot(path=str(screenshot_dir / "drills-library.png"), full_page=True)
    page.get_by_role("link", name=f"Start a drill of {scenario.title}").click()
    page.get_by_label("Responders").select_option(str(agent.pk))
    page.get_by_role("button", name="Set up the drill").click()
    page.locator("#drill-state", has_text="Running").wait_for()
    drill = Drill.objects.get()
    assert "Morgan Reyes" in page.locator("#drill-status").inner_text()

    # And the facilitator brings the second complaint in ahead of its clock
    page.get_by_role("button", name="Bring in the next inject").click()
    page.locator("#drill-status", has_text="Dana Whitfield").wait_for()
    page.screenshot(path=str(screenshot_dir / "drill-running.png"), full_page=True)
    running_violations = axe_violations(page)
    assert not running_violations, describe(running_violations)

    # When the agent answers each injected complaint in the normal case page
    agent_context = browser.new_context(base_url=live_server.url)
    agent_page = agent_context.new_page()
    agent_page.set_default_timeout(30_000)
    _sign_in(agent_page, agent.username)
    for inject in DrillInject.objects.filter(drill=drill).order_by("position"):
        agent_page.goto(f"/cases/{inject.case_id}/")
        assert "This is a drill." in agent_page.locator("#drill-banner").inner_text()
        apology = agent_page.get_by_label("Your apology")
        apology.fill(SINCERE.replace("Morgan", inject.customer_name.split()[0]))
        apology.press("End")
        agent_page.locator("#apology-override").wait_for(state="hidden")
        agent_page.locator("#apology-send").click()
        agent_page.locator(".flash", has_text="Apology sent.").wait_for()
    agent_context.close()
    # Meanwhile a real customer gets a real apology, through the same outbox.
    real = open_case(actor=agent, assignee=agent)
    case_apologise(case=real, actor=agent, body=SINCERE, override_reason="")
    # A worker's delivery lanes run: whatever they send goes to the SMTP server.
    deliveries_run_due()

    # Then the manager ends the drill and the debrief shows the agent's scores
    page.goto(f"/drills/{drill.pk}/")
    assert "None left Bounceback" in page.locator("#sandbox").inner_text()
    page.get_by_role("button", name="End and debrief").click()
    page.get_by_role("heading", name="Debrief", level=1).wait_for()
    scores = page.locator("#scores").inner_text()
    assert "ava thompson" in scores.lower(), scores
    assert "2 of 2 within the inject's target" in scores
    assert page.locator("#captured").inner_text() == "2"
    page.screenshot(path=str(screenshot_dir / "drill-debrief.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, describe(violations)

    # And nothing left the sandbox: the outbox kept both drill apologies; the server
    # got the real customer's apology only.
    assert smtp.received.total() == 1
    drill_states = OutboundMessage.objects.filter(customer__drill=drill).values_list(
        "state", flat=True
    )
    assert list(drill_states) == [OutboundMessage.State.CAPTURED] * 2
    assert OutboundMessage.objects.get(customer=real.customer).state == "sent"

    # And the coverage page shows the playbook as drilled, with its readiness
    page.goto("/drills/coverage/")
    assert "Current" in page.locator("#coverage").inner_text()
    page.screenshot(path=str(screenshot_dir / "drills-coverage.png"), full_page=True)
    coverage_violations = axe_violations(page)
    assert not coverage_violations, describe(coverage_violations)
