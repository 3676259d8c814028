"""Each role's home in a real browser: its charts render, and a bar opens its cases."""

# ruff: noqa: F811

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.cases.services import case_open
from bounceback.testing.accessibility import axe_violations, describe
from bounceback.testing.factories import PASSWORD, CustomerFactory, UserFactory
from bounceback.testing.failuremodes_factories import FailureModeFactory

# The browser fixtures are the staff UI's (see bounceback/web/tests/conftest.py).
from bounceback.web.tests.conftest import (  # noqa: F401
    _allow_orm_beside_playwright,
    browser,
    page,
    screenshot_dir,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Tile -> charts it draws once there is something to draw.
CHARTS = {
    Role.AGENT: ["my_urgent", "my_satisfaction"],
    Role.LEAD: ["team_breaches", "unassigned", "approvals", "my_urgent"],
    Role.MANAGER: ["on_time", "first_response", "time_to_fix", "satisfaction", "failure_modes"],
    Role.EXECUTIVE: ["on_time", "time_to_fix", "satisfaction", "failure_modes", "money"],
}


def _sign_in(page: Any, username: str) -> None:
    # The first page of a live server on a busy machine can take more than the default.
    page.set_default_timeout(30_000)
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _history(agent: Any) -> dict[str, set[str]]:
    """Cases of two failure modes, some answered, some breached, one overdue."""
    now = timezone.now()
    late, rude = FailureModeFactory(title="Late delivery"), FailureModeFactory(title="Rude staff")
    refs: dict[str, set[str]] = {"late": set(), "rude": set()}
    for i in range(5):
        mode, key = (late, "late") if i < 3 else (rude, "rude")
        case = case_open(
            customer=CustomerFactory(),
            summary=f"Parcel {i}",
            actor=agent,
            failure_mode=mode,
            assignee=agent,
            opened_at=now - timedelta(days=i + 1),
        )
        Case.objects.filter(pk=case.pk).update(
            fixed_at=case.created_at + timedelta(minutes=15 * (i + 1)),
            follow_up_recorded_at=now - timedelta(hours=i + 1),
            satisfied=i % 2 == 0,
            will_return=i < 2,
            breach_count=1 if i == 4 else 0,
            next_due_at=now - timedelta(minutes=5) if i == 0 else None,
        )
        refs[key].add(case.reference or "")
    return refs


@pytest.mark.parametrize("role", list(CHARTS))
def test_each_roles_home_renders_its_charts(page: Any, role: str) -> None:
    agent = UserFactory(username="ava", role=Role.AGENT)
    _history(agent)
    person = agent if role == Role.AGENT else UserFactory(username=f"{role}1", role=role)

    _sign_in(page, person.username)

    for tile in CHARTS[role]:
        chart = page.locator(f"#tile-{tile} svg.chart")
        chart.wait_for()
        assert chart.locator("title").count() >= 1
        assert (chart.locator("desc").text_content() or "").strip()
    assert page.locator("#dash-tiles table").count() == len(
        page.locator("#dash-tiles .dash-tile").all()
    )
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_a_pareto_bar_drills_down_to_its_cases(page: Any) -> None:
    agent = UserFactory(username="ava", role=Role.AGENT)
    refs = _history(agent)
    manager = UserFactory(username="marcus", role=Role.MANAGER)
    _sign_in(page, manager.username)

    # The tallest bar comes first on a Pareto chart: Late delivery, 3 cases.
    page.locator("#tile-failure_modes svg a").first.click()
    page.get_by_role("heading", name="Cases by failure mode: the cases").wait_for()

    listed = set(page.locator("#drill-results .ref").all_inner_texts())
    assert listed == refs["late"]
    assert "3 cases behind this figure" in page.inner_text("main")
