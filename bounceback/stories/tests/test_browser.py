"""A recovery story in a real browser: drafted from a happy case, nominated, recognised."""

from __future__ import annotations

from typing import Any

import pytest

from bounceback.accounts.roles import Role
from bounceback.stories import services
from bounceback.stories.models import Recognition, Story
from bounceback.stories.tests.conftest import happy_case
from bounceback.testing.accessibility import axe_violations, describe
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_story_is_drafted_from_a_happy_case_nominated_and_recognised(
    page: Any, browser: Any, live_server: Any
) -> None:
    case = happy_case()
    agent = UserFactory(username="riley", role=Role.AGENT)
    lead = UserFactory(username="tess", role=Role.LEAD)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Given an agent on the page of a closed case whose customer was happy
    sign_in(page, agent.username)
    page.goto(f"/cases/{case.pk}/")

    # When they draft the story in one click and nominate it
    page.get_by_role("button", name="Draft a story").click()
    page.get_by_role("heading", name="The story", exact=True).wait_for()
    assert "Sam was wonderful" in page.inner_text("main")
    assert "Anna" not in page.inner_text("main")
    page.get_by_role("button", name="Nominate").click()
    page.locator("#story-state", has_text="Nominated").wait_for()
    assert page.get_by_role("button", name="Publish").count() == 0

    # Then a lead recognises the person who made it right, and publishes the story
    lead_context = browser.new_context(base_url=live_server.url)
    lead_page = lead_context.new_page()
    sign_in(lead_page, lead.username)
    story = Story.objects.get()
    lead_page.goto(f"/stories/{story.pk}/")
    lead_page.get_by_label("Kudos").check()
    lead_page.get_by_label("Note").fill("Quick and kind")
    lead_page.get_by_role("button", name="Recognise").click()
    lead_page.locator("#recognitions", has_text="Quick and kind").wait_for()
    lead_page.get_by_role("button", name="Publish").click()
    lead_page.locator("#story-state", has_text="Published").wait_for()
    lead_page.goto("/stories/recognition/")
    assert "Sam Reyes" in lead_page.locator("#people").inner_text()
    lead_context.close()

    assert Recognition.objects.get().person == case.assignee
    assert not [e for e in errors if "Content Security Policy" in e]


def test_the_story_pages_have_no_serious_accessibility_violation(page: Any) -> None:
    case = happy_case()
    lead = UserFactory(username="tess", role=Role.LEAD)
    story = services.story_draft_from_case(case=case, actor=case.assignee)
    services.story_nominate(story=story, actor=case.assignee)
    services.story_recognise(story=story, actor=lead, kind="kudos", note="Quick and kind")

    sign_in(page, lead.username)
    problems: list[str] = []
    for path in ["/stories/", f"/stories/{story.pk}/", "/stories/recognition/"]:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        violations = axe_violations(page)
        if violations:
            problems.append(f"{path}:\n{describe(violations)}")
    assert not problems, "\n".join(problems)
