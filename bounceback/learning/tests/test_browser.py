"""Learning in a real browser: what worked before on a new case; a problem from a theme."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.learning import index
from bounceback.learning.models import CaseText
from bounceback.learning.services import case_texts_refresh, themes_recompute
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import UserFactory
from bounceback.testing.learning_factories import past_case, topic_cases, volume

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Any, username: str) -> None:
    # The first page of a process after WordLlama has loaded can take several
    # seconds on a loaded 2-core machine; this is a correctness test, not a race.
    page.set_default_timeout(30_000)
    sign_in(page, username)


def test_a_new_case_shows_its_similar_past_cases_with_their_outcome(page: Any) -> None:
    index.reset()
    agent = UserFactory(username="riley", role=Role.AGENT, first_name="Riley")
    past_case(
        "Power cut during the concert",
        "The lights went out in the hall halfway through the show and nobody told us.",
        fix="Tickets for the rerun next week",
        satisfied=True,
        will_return=True,
        gesture=Decimal("40.00"),
    )
    past_case("Parcel late", "My delivery came three days late", satisfied=False)
    case_texts_refresh()
    new = past_case("Blackout at the show", "Power failed in the hall during the concert")

    _sign_in(page, agent.username)
    page.goto(f"/cases/{new.pk}/")

    panel = page.locator("#similar-cases")
    panel.get_by_text("Power cut during the concert").wait_for()
    assert "Tickets for the rerun next week" in panel.inner_text()
    assert "satisfied, will come back" in panel.inner_text()
    assert "40.00" in panel.inner_text()


def test_a_problem_opened_from_a_theme_draws_its_before_and_after(page: Any) -> None:
    index.reset()
    lead = UserFactory(username="tom", role=Role.LEAD, first_name="Tom")
    made = topic_cases()
    now = timezone.now()
    volume(now - timedelta(days=60), 60, 3)
    # The delivery complaints came over the last two months.
    for i, case in enumerate(made["delivery"]):
        type(case).objects.filter(pk=case.pk).update(created_at=now - timedelta(days=50 - 6 * i))
    case_texts_refresh()
    themes_recompute(k=3)
    theme_id = CaseText.objects.get(case=made["delivery"][0]).theme_id

    _sign_in(page, lead.username)
    page.goto(f"/learning/themes/{theme_id}/")
    page.get_by_role("button", name="Open a problem record").click()
    page.get_by_role("heading", name="Did it stop?").wait_for()

    page.get_by_label("Corrective action").fill("A second van on flood days")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Corrective action is in place").click()

    chart = page.locator("#recurrence svg.chart")
    chart.wait_for()
    assert chart.locator("rect.bar--before").count() >= 1
    assert "before and after the action" in (chart.get_attribute("aria-label") or "")
