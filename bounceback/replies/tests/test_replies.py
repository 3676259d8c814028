"""Canned replies: placeholders, the coach's check on save, the pages, the compose box, the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bounceback.accounts.roles import Role
from bounceback.cases.services import case_open
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.replies.models import CannedReply
from bounceback.replies.services import (
    canned_reply_archive,
    canned_reply_create,
    canned_reply_update,
)
from bounceback.testing.factories import CustomerFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD = (
    "{{ customer.first_name }}, I'm sorry: {{ case.summary }} was our mistake, not yours. "
    "I will put it right today at no cost to you, and we have changed how we check every "
    "booking so this does not happen again. Your reference is {{ case.reference }}. "
    "{{ staff.first_name }}"
)
CLICHE = "We apologise for any inconvenience this may have caused."


@pytest.fixture
def lead(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(username="rosa", first_name="Rosa", last_name="Diaz", role=Role.LEAD)


def test_given_a_good_apology_when_saved_then_the_coach_passes_it(lead) -> None:  # type: ignore[no-untyped-def]
    reply = canned_reply_create(
        title="Sorry, our mistake", purpose="apology", body=GOOD, actor=lead
    )

    assert reply.coach_score is not None and reply.coach_score >= reply.coach_threshold
    assert not reply.below_bar


def test_given_a_cliche_when_saved_then_it_is_kept_below_the_bar_with_findings(lead) -> None:  # type: ignore[no-untyped-def]
    reply = canned_reply_create(title="Generic", purpose="apology", body=CLICHE, actor=lead)

    assert reply.below_bar
    codes = {finding["code"] for finding in reply.coach_findings}
    assert codes, "the coach says what is wrong"
    assert any("inconvenience" in f.get("excerpt", "").lower() for f in reply.coach_findings)


def test_given_an_update_then_only_its_phrasing_is_checked_and_it_is_not_scored(lead) -> None:  # type: ignore[no-untyped-def]
    # Given a progress update (no apology in it, as an update need not apologise again)
    plain = canned_reply_create(
        title="Still on it",
        purpose="update",
        body="{{ customer.first_name }}, we are still working on {{ case.reference }} "
        "and I will write again by 5 pm today.",
        actor=lead,
    )
    hedged = canned_reply_create(
        title="Hedged",
        purpose="follow_up",
        body="Sorry for any inconvenience, {{ customer.first_name }}. Is all well now?",
        actor=lead,
    )

    # Then it is not held to the apology bar, nor told it lacks an apology
    assert plain.coach_score is None and not plain.below_bar
    assert plain.coach_findings == []
    # ...but phrasing the coach objects to is still named
    assert hedged.coach_score is None
    assert [f["kind"] for f in hedged.coach_findings] == ["problem"] * len(hedged.coach_findings)
    assert any("inconvenience" in f.get("excerpt", "").lower() for f in hedged.coach_findings)


def test_given_an_unknown_placeholder_then_refused_naming_it(lead) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        canned_reply_create(
            title="Bad", purpose="update", body="Hi {{ customer.nickname }}", actor=lead
        )
    assert refused.value.field == "body"
    assert "customer.nickname" in refused.value.message
    assert not CannedReply.objects.exists()


def test_given_a_taken_title_or_an_agent_then_refused(lead, agent) -> None:  # type: ignore[no-untyped-def]
    canned_reply_create(title="Update", purpose="update", body="It is on its way.", actor=lead)
    with pytest.raises(Conflict):
        canned_reply_create(title="update", purpose="update", body="Again.", actor=lead)
    with pytest.raises(Forbidden):
        canned_reply_create(title="Mine", purpose="update", body="Hi.", actor=agent)


def test_given_an_edit_then_the_coach_scores_the_new_text(lead) -> None:  # type: ignore[no-untyped-def]
    reply = canned_reply_create(title="Generic", purpose="apology", body=CLICHE, actor=lead)

    reply = canned_reply_update(
        reply=reply, title="Generic", purpose="apology", body=GOOD, actor=lead
    )

    assert not reply.below_bar


def test_pages_save_a_reply_and_show_the_coachs_findings(lead_client) -> None:  # type: ignore[no-untyped-def]
    response = lead_client.post(
        reverse("replies:create"), {"title": "Generic", "purpose": "apology", "body": CLICHE}
    )
    assert response.status_code == 302
    page = lead_client.get(response["Location"]).content.decode()
    assert "below the bar" in page
    assert "What the apology coach says" in page

    listing = lead_client.get(reverse("replies:list")).content.decode()
    assert "Generic" in listing


def test_pages_show_an_unknown_placeholder_on_the_text_field(lead_client) -> None:  # type: ignore[no-untyped-def]
    response = lead_client.post(
        reverse("replies:create"),
        {"title": "Bad", "purpose": "update", "body": "Hi {{ oops }}"},
    )
    assert response.status_code == 200
    assert "unknown placeholder {{ oops }}" in response.content.decode()


def test_agents_read_but_do_not_write_replies(agent_client, lead) -> None:  # type: ignore[no-untyped-def]
    reply = canned_reply_create(title="Update", purpose="update", body="On its way.", actor=lead)
    assert agent_client.get(reverse("replies:list")).status_code == 200
    assert agent_client.get(reverse("replies:create")).status_code == 403
    page = agent_client.get(reverse("replies:edit", args=[reply.pk])).content.decode()
    assert "Save changes" not in page


def test_the_compose_box_offers_replies_and_fills_one_in_for_the_case(
    agent, agent_client, lead
) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Chad Patterson")
    case = case_open(
        customer=customer,
        summary="Car not ready",
        actor=agent,
        assignee=agent,
        site=SiteFactory(name="Harbourside Body Shop"),
    )
    reply = canned_reply_create(
        title="Sorry, our mistake", purpose="apology", body=GOOD, actor=lead
    )
    archived = canned_reply_create(title="Old one", purpose="apology", body="Old.", actor=lead)
    canned_reply_archive(reply=archived, actor=lead)

    page = agent_client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Insert a canned reply" in page
    assert "Sorry, our mistake" in page
    assert "Old one" not in page

    filled = agent_client.get(reverse("replies:for_case", args=[reply.pk, case.pk])).json()
    assert filled["body"].startswith("Chad, I'm sorry: Car not ready was our mistake")
    assert case.reference in filled["body"]
    assert filled["body"].endswith(agent.first_name)


def test_api_lists_writes_and_fills_in_replies(make_token_client, lead) -> None:  # type: ignore[no-untyped-def]
    client = make_token_client("cases:write", "cases:read")
    created = client.post(
        "/api/replies/",
        {"title": "Generic", "purpose": "apology", "body": CLICHE},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["below_bar"] is True and body["coach_findings"]

    bad = client.post(
        "/api/replies/",
        {"title": "Bad", "purpose": "apology", "body": "{{ nope }}"},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["field"] == "body"

    patched = client.patch(
        f"/api/replies/{body['id']}", {"body": GOOD}, content_type="application/json"
    )
    assert patched.status_code == 200 and patched.json()["below_bar"] is False


def test_api_list_runs_a_fixed_number_of_queries(
    make_token_client, lead, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        canned_reply_create(title=f"Reply {n}", purpose="update", body="On its way.", actor=lead)
    client = make_token_client("cases:read")
    with django_assert_max_num_queries(4):
        response = client.get("/api/replies/")
    assert len(response.json()) == 5
