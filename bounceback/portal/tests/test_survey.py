from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.cases.services import case_record_follow_up
from bounceback.errors import ValidationFailed
from bounceback.portal.models import PortalLink, SurveyInvitation
from bounceback.portal.services import (
    SURVEY_SALT,
    SurveyUnusable,
    portal_link_create,
    survey_answer,
)
from bounceback.testing.factories import CustomerFactory
from bounceback.testing.portal_factories import make_followed_up_case, path_of

pytestmark = pytest.mark.django_db

HAPPY = {"satisfaction": "5", "will_return": "yes", "comment": "Lovely dinner"}
UNHAPPY = {"satisfaction": "2", "will_return": "not_sure", "comment": "Still no refund"}


@pytest.fixture
def ada(db: None):  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Ada Lovelace", email="ada@example.com")


@pytest.fixture
def published(monkeypatch) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    events: list[dict[str, Any]] = []

    def publish(*, event: str, payload: dict[str, Any]) -> None:
        events.append({"event": event, **payload})

    monkeypatch.setattr("bounceback.webhooks.events.webhook_publish", publish)
    return events


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def test_given_a_written_follow_up_then_it_carries_a_single_survey_link(ada, agent) -> None:  # type: ignore[no-untyped-def]
    case, url = make_followed_up_case(customer=ada, assignee=agent, channel="email")

    invitation = SurveyInvitation.objects.get(case=case)
    assert url.startswith("http://") and "/survey/" in url
    assert invitation.used_at is None
    assert invitation.expires_at > timezone.now() + timedelta(days=29)
    assert _token(url) not in invitation.token_hash


def test_given_a_phone_follow_up_then_no_survey_is_sent(ada, agent) -> None:  # type: ignore[no-untyped-def]
    case, url = make_followed_up_case(customer=ada, assignee=agent, channel="phone")

    assert url == ""
    assert not SurveyInvitation.objects.filter(case=case).exists()


def test_given_a_survey_link_when_opened_then_the_three_questions_show(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    case, url = make_followed_up_case(customer=ada, assignee=agent)

    response = client.get(path_of(url))

    page = response.content.decode()
    assert response.status_code == 200
    assert case.reference in page
    for question in (
        "How happy are you",
        "Will you do business with us again?",
        "What could we have done better?",
    ):
        assert question in page
    assert page.count('name="satisfaction"') == 5


def test_given_a_happy_answer_then_it_lands_on_the_follow_up_with_score_and_who(
    client: Client, ada, agent, published
) -> None:  # type: ignore[no-untyped-def]
    case, url = make_followed_up_case(customer=ada, assignee=agent)

    response = client.post(path_of(url), HAPPY)

    assert response.status_code == 200
    assert "Thank you for your answer" in response.content.decode()
    case.refresh_from_db()
    assert case.satisfied is True and case.will_return is True
    assert case.follow_up_comment == "Lovely dinner"
    assert case.follow_up_recorded_at is not None
    event = case.events.get(kind="follow_up_recorded")
    assert event.actor_label == "Ada Lovelace (survey)" and event.actor is None
    assert event.summary == "Customer is satisfied (5/5)"
    assert event.data["score"] == 5
    invitation = SurveyInvitation.objects.get(case=case)
    assert invitation.used_at is not None
    assert invitation.answers == {
        "satisfaction": 5,
        "will_return": True,
        "comment": "Lovely dinner",
    }
    assert published == [
        {
            "event": "survey.answered",
            "case": {"id": case.pk, "reference": case.reference, "status": case.status},
            "customer": {"id": ada.pk, "name": "Ada Lovelace"},
            "satisfaction": 5,
            "satisfied": True,
            "will_return": True,
            "comment": "Lovely dinner",
            "recovery_reopened": False,
            "answered_at": invitation.used_at.isoformat(),
        }
    ]
    staff = Client()
    staff.force_login(agent)
    staff_page = staff.get(f"/cases/{case.pk}/").content.decode()
    assert "Ada Lovelace (survey)" in staff_page and "Lovely dinner" in staff_page


def test_given_an_unhappy_answer_then_the_recovery_reopens_with_a_task_for_the_assignee(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    case, url = make_followed_up_case(customer=ada, assignee=agent)

    response = client.post(path_of(url), UNHAPPY)

    assert "Your case is open again" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.FIXING and case.fixed_at is None
    assert agent.notifications.filter(kind="recovery_reopened").exists()
    event = case.events.get(kind="follow_up_recorded")
    assert event.data["score"] == 2 and event.data["comment"] == "Still no refund"
    assert event.data["will_return"] is None


def test_given_an_answered_survey_when_used_again_then_a_clear_page_and_nothing_written(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    case, url = make_followed_up_case(customer=ada, assignee=agent)
    client.post(path_of(url), HAPPY)
    events = case.events.count()

    shown = client.get(path_of(url))
    again = client.post(path_of(url), UNHAPPY)

    for response in (shown, again):
        assert "You have already answered this survey" in response.content.decode()
    case.refresh_from_db()
    assert case.satisfied is True and case.events.count() == events


@pytest.mark.parametrize("how", ["changed id", "changed signature", "garbage"])
def test_given_a_tampered_token_then_it_is_not_valid_and_nothing_is_written(
    client: Client, ada, agent, how: str
) -> None:  # type: ignore[no-untyped-def]
    _, url = make_followed_up_case(customer=ada, assignee=agent)
    token = _token(url)
    _, nonce = signing.loads(token, salt=SURVEY_SALT)
    other, _ = make_followed_up_case(customer=CustomerFactory(), assignee=agent)
    other_id = SurveyInvitation.objects.get(case=other).pk
    tampered = {
        # A valid signature over the other invitation's id, made with our key,
        # still fails: its hash is not the one stored for that invitation.
        "changed id": signing.dumps([other_id, nonce], salt=SURVEY_SALT),
        "changed signature": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "garbage": "abc",
    }[how]

    response = client.post(f"/survey/{tampered}/", HAPPY)

    assert "This survey link is not valid" in response.content.decode()
    assert not SurveyInvitation.objects.exclude(used_at=None).exists()
    assert not Case.objects.exclude(follow_up_recorded_at=None).exists()


def test_given_an_expired_survey_then_a_clear_page(client: Client, ada, agent) -> None:  # type: ignore[no-untyped-def]
    case, url = make_followed_up_case(customer=ada, assignee=agent)
    SurveyInvitation.objects.filter(case=case).update(expires_at=timezone.now())

    response = client.post(path_of(url), HAPPY)

    assert "This survey link has expired." in response.content.decode()
    case.refresh_from_db()
    assert case.follow_up_recorded_at is None


def test_given_staff_recorded_the_answer_when_the_survey_is_opened_then_it_is_no_longer_waiting(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    case, url = make_followed_up_case(customer=ada, assignee=agent)
    case_record_follow_up(case=case, actor=agent, satisfied=True, will_return=True)

    response = client.post(path_of(url), UNHAPPY)

    assert "no longer waiting for your answer" in response.content.decode()
    case.refresh_from_db()
    assert case.satisfied is True
    assert SurveyInvitation.objects.get().used_at is None


def test_given_bad_answers_then_each_field_says_what_is_wrong(client: Client, ada, agent) -> None:  # type: ignore[no-untyped-def]
    _, url = make_followed_up_case(customer=ada, assignee=agent)

    response = client.post(path_of(url), {"satisfaction": "9", "will_return": "maybe"})

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "satisfaction" in errors and "will_return" in errors
    assert SurveyInvitation.objects.get().used_at is None


def test_given_the_service_when_called_with_bad_values_then_it_refuses_them(ada, agent) -> None:  # type: ignore[no-untyped-def]
    _, url = make_followed_up_case(customer=ada, assignee=agent)

    with pytest.raises(ValidationFailed) as score:
        survey_answer(token=_token(url), satisfaction=0, will_return="yes")
    with pytest.raises(ValidationFailed) as will_return:
        survey_answer(token=_token(url), satisfaction=3, will_return="perhaps")
    with pytest.raises(SurveyUnusable):
        survey_answer(token="nope", satisfaction=3, will_return="yes")

    assert score.value.field == "satisfaction" and will_return.value.field == "will_return"


def test_given_a_pending_survey_when_answered_in_the_portal_then_it_counts_once(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    case, url = make_followed_up_case(customer=ada, assignee=agent)
    _, link = portal_link_create(customer=ada, purpose=PortalLink.Purpose.LOGIN)
    client.post(path_of(link))
    page = f"/portal/cases/{case.reference}/"
    assert "How did we do?" in client.get(page).content.decode()

    client.post(page, {"action": "survey", **HAPPY})

    case.refresh_from_db()
    assert case.satisfied is True
    assert "How did we do?" not in client.get(page).content.decode()
    assert "You have already answered" in client.get(path_of(url)).content.decode()
