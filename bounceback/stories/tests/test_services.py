"""Drafting, editing, nominating, publishing, recognising and proposing prevention."""

from __future__ import annotations

import pytest

from bounceback.audit.models import AuditEvent
from bounceback.cases.models import Case
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.failuremodes.models import FailureMode
from bounceback.stories import selectors, services
from bounceback.stories.models import Recognition, Story
from bounceback.stories.tests.conftest import happy_case
from bounceback.testing.failuremodes_factories import FailureModeFactory, TouchpointFactory
from bounceback.testing.webhooks_factories import WebhookSubscriptionFactory
from bounceback.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def test_a_happy_case_drafts_a_story_without_the_customers_name(case, staff_agent) -> None:
    # When an agent drafts the story of a closed case the customer was happy with
    story = services.story_draft_from_case(case=case, actor=staff_agent)

    # Then it tells what went wrong, what we did, the gesture and the customer's words
    assert story.state == Story.State.DRAFT
    assert story.staff == case.assignee and story.author == staff_agent
    assert "room" in story.what_went_wrong and "quiet floor" in story.what_we_did
    assert "Refund" in story.gesture and "40.00" in story.gesture
    assert "Sam was wonderful" in story.customer_words
    assert story.tag_list == ["housekeeping"]
    # ... with the customer's name left out everywhere
    for text in (story.title, story.what_went_wrong, story.what_we_did, story.customer_words):
        assert "anna" not in text.lower() and "berg" not in text.lower()
    assert "the customer" in story.customer_words
    assert AuditEvent.objects.filter(action="story_drafted", actor=staff_agent).count() == 1


def test_a_customer_who_agreed_is_named(case, staff_agent) -> None:
    story = services.story_draft_from_case(case=case, actor=staff_agent, customer_named=True)

    assert "Anna Berg" in story.what_went_wrong and story.customer_named


@pytest.mark.parametrize(
    "change, code",
    [({"status": Case.Status.FIXED}, "case_open"), ({"satisfied": False}, "not_satisfied")],
)
def test_only_a_closed_happy_case_drafts_a_story(case, staff_agent, change, code) -> None:
    Case.objects.filter(pk=case.pk).update(**change)

    with pytest.raises(Conflict) as refused:
        services.story_draft_from_case(case=case, actor=staff_agent)

    assert (refused.value.field, refused.value.code) == ("case", code)
    assert not Story.objects.exists()


def test_a_case_tells_one_story(case, staff_agent) -> None:
    services.story_draft_from_case(case=case, actor=staff_agent)

    with pytest.raises(Conflict) as refused:
        services.story_draft_from_case(case=case, actor=staff_agent)

    assert refused.value.code == "duplicate" and Story.objects.count() == 1


def test_editing_cleans_tags_and_refuses_bad_ones_naming_the_field(case, staff_agent) -> None:
    story = services.story_draft_from_case(case=case, actor=staff_agent)

    services.story_update(story=story, actor=staff_agent, tags=[" Rooms ", "rooms", "VIP guest"])
    story.refresh_from_db()
    assert story.tag_list == ["rooms", "vip guest"]

    with pytest.raises(ValidationFailed) as refused:
        services.story_update(story=story, actor=staff_agent, tags=["<script>"], title="New")
    assert refused.value.field == "tags"
    story.refresh_from_db()
    assert story.title != "New"

    with pytest.raises(ValidationFailed) as refused:
        services.story_update(story=story, actor=staff_agent, title="  ")
    assert refused.value.field == "title"


def test_agents_nominate_but_only_leads_publish_and_publishing_sends_the_webhook(
    case, staff_agent, lead
) -> None:
    WebhookSubscriptionFactory(events=["story.published"])
    story = services.story_draft_from_case(case=case, actor=staff_agent)

    services.story_nominate(story=story, actor=staff_agent)
    with pytest.raises(Forbidden):
        services.story_publish(story=story, actor=staff_agent)
    published = services.story_publish(story=story, actor=lead)

    assert published.state == Story.State.PUBLISHED and published.published_by == lead
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "story.published"
    assert delivery.payload["story"]["id"] == story.pk
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "story_drafted",
        "story_nominated",
        "story_published",
    }
    with pytest.raises(Conflict):
        services.story_nominate(story=story, actor=staff_agent)
    with pytest.raises(Forbidden):
        services.story_update(story=story, actor=staff_agent, title="Changed")


def test_leads_recognise_a_nominated_story_and_counts_add_up_per_person_and_team(
    case, staff_agent, lead
) -> None:
    story = services.story_draft_from_case(case=case, actor=staff_agent)
    with pytest.raises(Conflict) as draft:
        services.story_recognise(story=story, actor=lead, kind="kudos")
    assert draft.value.field == "story"
    services.story_nominate(story=story, actor=staff_agent)

    with pytest.raises(Forbidden):
        services.story_recognise(story=story, actor=staff_agent, kind="kudos")
    with pytest.raises(ValidationFailed) as bad:
        services.story_recognise(story=story, actor=lead, kind="medal")
    assert bad.value.field == "kind"

    services.story_recognise(story=story, actor=lead, kind="kudos", note="Quick and kind")
    services.story_recognise(story=story, actor=lead, kind="monthly")
    services.story_recognise(person=staff_agent, actor=lead, kind="kudos")

    sam = case.assignee
    people = {c.name: (c.kudos, c.monthly) for c in selectors.recognition_by_person()}
    assert people == {"Sam Reyes": (1, 1), str(staff_agent.get_full_name()): (1, 0)}
    teams = {c.name: c.total for c in selectors.recognition_by_team()}
    assert teams["Front desk"] == 2
    assert Recognition.objects.filter(person=sam, team=sam.team).count() == 2
    assert AuditEvent.objects.filter(action="story_recognised").count() == 3


def test_nobody_recognises_themselves(case, lead) -> None:
    with pytest.raises(Forbidden) as refused:
        services.story_recognise(person=lead, actor=lead, kind="kudos")
    assert refused.value.field == "person"


def test_the_prevention_idea_becomes_a_failure_mode_proposal(case, staff_agent) -> None:
    mode = FailureModeFactory(status=FailureMode.Status.ACCEPTED, severity=7)
    Case.objects.filter(pk=case.pk).update(failure_mode=mode)
    story = services.story_draft_from_case(case=case, actor=staff_agent)

    proposed = services.story_propose_prevention(
        story=story, actor=staff_agent, title="Rooms skipped"
    )

    assert proposed.status == FailureMode.Status.PROPOSED
    assert proposed.touchpoint == mode.touchpoint and proposed.severity == 7
    assert "tablet" in proposed.description
    story.refresh_from_db()
    assert story.proposed_failure_mode == proposed
    with pytest.raises(Conflict):
        services.story_propose_prevention(story=story, actor=staff_agent)


def test_a_prevention_proposal_needs_a_touchpoint_and_an_idea(staff_agent) -> None:
    story = services.story_draft_from_case(case=happy_case(), actor=staff_agent)
    with pytest.raises(ValidationFailed) as refused:
        services.story_propose_prevention(story=story, actor=staff_agent)
    assert refused.value.field == "touchpoint"

    services.story_update(story=story, actor=staff_agent, prevention_idea="")
    with pytest.raises(ValidationFailed) as refused:
        services.story_propose_prevention(
            story=story, actor=staff_agent, touchpoint=TouchpointFactory()
        )
    assert refused.value.field == "prevention_idea"
    assert not FailureMode.objects.exists()


def test_names_left_out_matches_whole_words_only() -> None:
    text = "Anna said Annabel's order was fine; BERG agreed, Anna Berg too."
    assert services.names_left_out(text, "Anna Berg") == (
        "the customer said Annabel's order was fine; the customer agreed, the customer too."
    )
