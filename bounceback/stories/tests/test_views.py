"""The story pages through the Django test client, by role."""

from __future__ import annotations

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.stories import services
from bounceback.stories.models import Recognition, Story
from bounceback.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_the_happy_case_page_offers_to_draft_a_story_and_one_click_drafts_it(
    case, staff_agent
) -> None:
    client = _client(staff_agent)

    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert f'action="/stories/from-case/{case.pk}/"' in page.content.decode()

    drafted = client.post(f"/stories/from-case/{case.pk}/", follow=True)

    story = Story.objects.get()
    assert drafted.redirect_chain[-1][0] == f"/stories/{story.pk}/"
    html = drafted.content.decode()
    assert "Sam was wonderful" in html and "Anna" not in html.split("<main", 1)[-1]
    assert f'action="/stories/{story.pk}/nominate/"' in html
    assert "/publish/" not in html  # an agent does not see the publish button
    # And the case page now links to the story instead of offering another draft
    assert f"/stories/{story.pk}/" in client.get(f"/cases/{case.pk}/").content.decode()


def test_an_unhappy_case_offers_no_story(staff_agent) -> None:
    from bounceback.stories.tests.conftest import happy_case

    case = happy_case(satisfied=False)
    page = _client(staff_agent).get(f"/cases/{case.pk}/")
    assert "/stories/from-case/" not in page.content.decode()
    refused = _client(staff_agent).post(f"/stories/from-case/{case.pk}/", follow=True)
    assert not Story.objects.exists()
    assert "satisfied" in refused.content.decode()


def test_an_agent_cannot_publish_or_recognise_but_a_lead_can(case, staff_agent, lead) -> None:
    story = services.story_draft_from_case(case=case, actor=staff_agent)
    agent = _client(staff_agent)
    assert agent.post(f"/stories/{story.pk}/nominate/").status_code == 302
    assert agent.post(f"/stories/{story.pk}/publish/").status_code == 403
    assert agent.post(f"/stories/{story.pk}/recognise/", {"kind": "kudos"}).status_code == 403

    boss = _client(lead)
    page = boss.get(f"/stories/{story.pk}/").content.decode()
    assert "/publish/" in page and "/recognise/" in page
    boss.post(f"/stories/{story.pk}/recognise/", {"kind": "kudos", "note": "Well done"})
    boss.post(f"/stories/{story.pk}/publish/")

    story.refresh_from_db()
    assert story.state == Story.State.PUBLISHED
    assert Recognition.objects.get().person == case.assignee
    counts = boss.get("/stories/recognition/").content.decode()
    assert "Sam Reyes" in counts and "Front desk" in counts


def test_an_edit_with_a_bad_tag_is_refused_on_the_form(case, staff_agent) -> None:
    story = services.story_draft_from_case(case=case, actor=staff_agent)

    answer = _client(staff_agent).post(
        f"/stories/{story.pk}/edit/", {"title": "Room saved", "tags": "rooms, <b>"}
    )

    assert answer.status_code == 422
    assert "tag" in answer.content.decode()
    story.refresh_from_db()
    assert story.title != "Room saved"


def test_the_library_searches_text_and_filters_by_tag(
    staff_agent, django_assert_max_num_queries
) -> None:
    from bounceback.stories.tests.conftest import happy_case

    first = services.story_draft_from_case(case=happy_case(), actor=staff_agent)
    services.story_update(story=first, actor=staff_agent, title="Quiet floor", tags=["rooms"])
    for index in range(3):
        other = services.story_draft_from_case(
            case=happy_case(team=first.staff.team), actor=staff_agent
        )
        services.story_update(
            story=other, actor=staff_agent, title=f"Late taxi {index}", tags=["travel"]
        )
    client = _client(staff_agent)

    with django_assert_max_num_queries(12):
        everything = client.get("/stories/")
    tagged = client.get("/stories/", {"tag": "rooms"}).content.decode()
    searched = client.get("/stories/", {"q": "taxi"}).content.decode()

    assert everything.content.decode().count("Late taxi") == 3
    assert "Quiet floor" in tagged and "Late taxi" not in tagged
    assert "Late taxi 2" in searched and "Quiet floor" not in searched


def test_the_nav_shows_stories_to_staff(staff_agent) -> None:
    page = _client(staff_agent).get("/stories/").content.decode()
    assert '<a href="/stories/"' in page


def test_an_executive_without_the_role_cannot_recognise_from_the_counts_page(case) -> None:
    executive = UserFactory(role=Role.EXECUTIVE)
    refused = _client(executive).post(
        "/stories/recognition/", {"kind": "kudos", "person": case.assignee.pk}
    )
    assert refused.status_code == 403
