"""Internal notes: on the timeline for staff, @mentions notify, never shown to the customer."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from bounceback.accounts.roles import Role
from bounceback.cases.models import CaseEvent
from bounceback.cases.services import case_apologise, case_note_add, note_mentions
from bounceback.errors import ValidationFailed
from bounceback.interactions.models import Interaction
from bounceback.notifications.models import Notification
from bounceback.outbox.models import OutboundMessage
from bounceback.portal.models import PortalLink
from bounceback.portal.services import portal_link_create
from bounceback.testing.factories import UserFactory
from bounceback.testing.portal_factories import deliver_all, path_of

from .conftest import SINCERE

pytestmark = pytest.mark.django_db

SECRET = "Staff only: she is a food critic, keep it quiet"


@pytest.fixture
def lead(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(username="rosa", first_name="Rosa", last_name="Diaz", role=Role.LEAD)


def test_mentions_are_usernames_after_a_space_not_email_addresses() -> None:
    assert note_mentions("@rosa can you call? cc @Sam.Lee, not chad@example.com") == [
        "rosa",
        "sam.lee",
    ]
    assert note_mentions("(@rosa) and again @rosa") == ["rosa"]


def test_given_a_note_mentioning_a_colleague_then_they_are_notified_with_a_link(
    open_case, agent, lead
) -> None:  # type: ignore[no-untyped-def]
    event = case_note_add(case=open_case, actor=agent, body=f"@rosa please call her. {SECRET}")

    assert event.kind == CaseEvent.Kind.NOTE
    assert event.data["mentions"] == ["rosa"]
    note = Notification.objects.get(recipient=lead)
    assert note.kind == "mention"
    assert open_case.reference in note.title
    assert note.url == f"/cases/{open_case.pk}/#event-{event.pk}"
    # The author is not told about their own note.
    assert not Notification.objects.filter(recipient=agent).exists()


def test_given_a_note_then_nothing_is_sent_or_logged_as_a_message(open_case, agent) -> None:  # type: ignore[no-untyped-def]
    before = (Interaction.objects.count(), OutboundMessage.objects.count())

    case_note_add(case=open_case, actor=agent, body=SECRET)

    assert (Interaction.objects.count(), OutboundMessage.objects.count()) == before


def test_given_a_mention_of_nobody_then_refused_naming_them_and_nothing_written(
    open_case, agent, lead
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        case_note_add(case=open_case, actor=agent, body="@rosa and @nobody-here look")

    assert refused.value.field == "body"
    assert "@nobody-here" in refused.value.message
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.NOTE).exists()
    assert not Notification.objects.exists()


def test_given_an_empty_note_then_refused(open_case, agent) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed):
        case_note_add(case=open_case, actor=agent, body="   ")


def test_given_a_note_then_the_portal_and_the_emails_never_show_it(
    settings, open_case, agent, customer
) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    case_note_add(case=open_case, actor=agent, body=SECRET)
    case_apologise(case=open_case, actor=agent, body=SINCERE)
    deliver_all()
    client = Client()
    _, url = portal_link_create(customer=customer, purpose=PortalLink.Purpose.LOGIN)
    client.post(path_of(url))

    listing = client.get("/portal/").content.decode()
    page = client.get(f"/portal/cases/{open_case.reference}/").content.decode()

    assert "technician called in sick" in page  # the apology is there
    assert "food critic" not in page and "food critic" not in listing
    assert "Internal note" not in page
    assert mail.outbox, "the apology went out by email"
    for message in mail.outbox:
        assert "food critic" not in str(message.body)
        for alternative, _ in getattr(message, "alternatives", []):
            assert "food critic" not in str(alternative)


def test_case_page_adds_a_note_and_shows_it_as_internal(agent_client, open_case, lead) -> None:  # type: ignore[no-untyped-def]
    response = agent_client.post(
        reverse("cases:note", args=[open_case.pk]), {"body": "@rosa can you take this one?"}
    )

    assert response.status_code == 302
    page = agent_client.get(response["Location"]).content.decode()
    assert "Note added; @rosa notified." in page
    assert "can you take this one?" in page
    assert "chip--note" in page
    assert Notification.objects.filter(recipient=lead, kind="mention").count() == 1


def test_case_page_refuses_an_unknown_mention_on_the_note_field(agent_client, open_case) -> None:  # type: ignore[no-untyped-def]
    response = agent_client.post(
        reverse("cases:note", args=[open_case.pk]), {"body": "@ghost look at this"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "nobody on the staff is called @ghost" in page
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.NOTE).exists()


def test_api_adds_a_note_and_answers_who_was_told(make_token_client, open_case, lead) -> None:  # type: ignore[no-untyped-def]
    client = make_token_client("cases:write", "cases:read")

    response = client.post(
        f"/api/cases/{open_case.pk}/notes",
        {"body": "@rosa FYI"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["mentions"] == ["rosa"]

    bad = client.post(
        f"/api/cases/{open_case.pk}/notes", {"body": "@ghost"}, content_type="application/json"
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "body"
