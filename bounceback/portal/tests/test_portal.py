from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.cases.services import case_send_update
from bounceback.interactions.models import Interaction
from bounceback.interactions.services import interaction_log
from bounceback.outbox.models import OutboundMessage
from bounceback.portal.models import PortalLink, WebFormSubmission
from bounceback.portal.services import portal_link_create
from bounceback.portal.views import SESSION_KEY
from bounceback.testing.factories import CustomerFactory
from bounceback.testing.portal_factories import (
    SINCERE,
    deliver_all,
    links_in_mail,
    make_case,
    path_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_mail(settings) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def ada(db: None):  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Ada Lovelace", email="ada@example.com")


def _enter(client: Client, customer) -> None:  # type: ignore[no-untyped-def]
    _, url = portal_link_create(customer=customer, purpose=PortalLink.Purpose.LOGIN)
    response = client.post(path_of(url))
    assert response.status_code == 302 and response["Location"] == "/portal/"


# --- Asking for a link ------------------------------------------------------------------


def test_given_any_address_when_a_link_is_asked_for_then_the_answer_is_the_same(
    client: Client, ada
) -> None:  # type: ignore[no-untyped-def]
    known = client.post("/portal/login/", {"email": "ADA@example.com"})
    unknown = client.post("/portal/login/", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 200
    assert "If we know this address, a link is on its way" in known.content.decode()
    assert known.content == unknown.content
    deliver_all()
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert len(links_in_mail()) == 1


def test_given_the_limit_used_when_more_links_are_asked_for_then_429(
    client: Client, ada, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_FORM_LIMIT_PER_EMAIL = 2
    for _ in range(2):
        client.post("/portal/login/", {"email": "ada@example.com"})

    response = client.post("/portal/login/", {"email": "ada@example.com"})

    assert response.status_code == 429
    assert PortalLink.objects.count() == 2
    # The refused request left nothing behind: only the two accepted ones are kept.
    assert WebFormSubmission.objects.count() == 2
    assert not WebFormSubmission.objects.filter(outcome="rate_limited").exists()


def test_given_a_bad_address_when_a_link_is_asked_for_then_the_field_says_so(
    client: Client,
) -> None:
    response = client.post("/portal/login/", {"email": "not-an-address"})

    assert response.status_code == 422
    assert "Enter an email address" in response.content.decode()


# --- Using a link -------------------------------------------------------------------------


def test_given_a_link_when_opened_with_get_then_it_is_not_used_up(client: Client, ada) -> None:  # type: ignore[no-untyped-def]
    _, url = portal_link_create(customer=ada, purpose=PortalLink.Purpose.LOGIN)

    for _ in range(2):
        response = client.get(path_of(url))
        assert response.status_code == 200
        assert "Continue to your cases" in response.content.decode()

    assert PortalLink.objects.get().used_at is None
    assert SESSION_KEY not in client.session


def test_given_a_link_when_continued_then_the_portal_opens_once_and_never_as_staff(
    client: Client, ada
) -> None:  # type: ignore[no-untyped-def]
    _, url = portal_link_create(customer=ada, purpose=PortalLink.Purpose.LOGIN)
    before = client.get(path_of(url)).wsgi_request.session.session_key

    response = client.post(path_of(url))

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == ada.pk
    assert client.session.session_key != before
    assert "_auth_user_id" not in client.session
    assert client.get("/cases/").status_code == 302  # staff pages still want a staff login
    again = Client().post(path_of(url))
    assert "already been used" in again.content.decode()
    assert SESSION_KEY not in again.wsgi_request.session


def test_given_an_expired_link_when_used_then_a_clear_page_offers_a_new_one(
    client: Client, ada
) -> None:  # type: ignore[no-untyped-def]
    link, url = portal_link_create(customer=ada, purpose=PortalLink.Purpose.LOGIN)
    PortalLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    shown = client.get(path_of(url))
    used = client.post(path_of(url))

    for response in (shown, used):
        assert "This link has expired." in response.content.decode()
        assert 'href="/portal/login/"' in response.content.decode()
    assert SESSION_KEY not in client.session


def test_given_a_made_up_token_when_used_then_it_is_not_valid(client: Client) -> None:
    response = client.post("/portal/enter/not-a-real-token/")

    assert "This link is not valid" in response.content.decode()


def test_given_no_portal_session_when_the_portal_is_opened_then_it_asks_for_a_link(
    client: Client,
) -> None:
    assert client.get("/portal/")["Location"] == "/portal/login/"
    assert client.get("/portal/cases/BB-00001/")["Location"] == "/portal/login/"


# --- What a customer sees -----------------------------------------------------------------


def test_given_two_customers_when_one_is_in_the_portal_then_they_see_only_their_cases(
    client: Client, ada, agent, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    other = CustomerFactory(name="Grace Hopper")
    theirs = make_case(customer=other, assignee=agent, summary="Grace's lost coat")
    for n in range(3):
        make_case(customer=ada, assignee=agent, summary=f"Ada's problem {n}")
    _enter(client, ada)

    with django_assert_max_num_queries(6):
        response = client.get("/portal/")

    page = response.content.decode()
    assert page.count("Ada&#x27;s problem") == 3
    assert "Grace" not in page and theirs.reference not in page
    assert "mainnav" not in page


@pytest.mark.parametrize("guess", ["other", "next", "lowercase", "made-up"])
def test_given_another_customers_reference_when_opened_then_404(
    client: Client, ada, agent, guess: str
) -> None:  # type: ignore[no-untyped-def]
    mine = make_case(customer=ada, assignee=agent)
    theirs = make_case(customer=CustomerFactory(), assignee=agent)
    _enter(client, ada)
    reference = {
        "other": theirs.reference,
        "next": f"BB-{mine.pk + 1:05d}",
        "lowercase": theirs.reference.lower(),
        "made-up": "BB-99999",
    }[guess]

    shown = client.get(f"/portal/cases/{reference}/")
    replied = client.post(f"/portal/cases/{reference}/", {"action": "reply", "body": "Hi"})

    assert shown.status_code == replied.status_code == 404
    assert not Interaction.objects.filter(case=theirs).exists()


def test_given_a_case_when_opened_then_messages_show_but_internal_notes_never(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    from bounceback.cases.services import case_apologise

    case = make_case(customer=ada, assignee=agent)
    case_apologise(case=case, actor=agent, body=SINCERE)
    interaction_log(
        customer=ada,
        case=case,
        channel="phone",
        direction=Interaction.Direction.INTERNAL,
        body="Staff only: she is a journalist",
        author=agent,
    )
    _enter(client, ada)

    response = client.get(f"/portal/cases/{case.reference}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "your table was given away" in page
    assert "journalist" not in page
    assert agent.last_name not in page


def test_given_a_logged_call_when_the_case_is_opened_then_staffs_note_of_it_is_not_shown(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    from bounceback.cases.services import case_log_call

    case = make_case(customer=ada, assignee=agent)
    case_log_call(case=case, actor=agent, direction="inbound", body="Sounded furious, escalate")
    _enter(client, ada)

    page = client.get(f"/portal/cases/{case.reference}/").content.decode()

    assert "Sounded furious" not in page


def test_given_an_open_case_when_the_customer_replies_then_it_lands_on_the_case(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    case = make_case(customer=ada, assignee=agent)
    _enter(client, ada)

    response = client.post(
        f"/portal/cases/{case.reference}/", {"action": "reply", "body": "Any news?"}, follow=True
    )

    assert "Any news?" in response.content.decode()
    message = Interaction.objects.get(case=case, direction="inbound")
    assert message.channel == "web" and message.body == "Any news?"
    assert case.events.filter(kind="customer_message").exists()


def test_given_an_empty_reply_when_sent_then_the_field_says_so(client: Client, ada, agent) -> None:  # type: ignore[no-untyped-def]
    case = make_case(customer=ada, assignee=agent)
    _enter(client, ada)

    response = client.post(f"/portal/cases/{case.reference}/", {"action": "reply", "body": " "})

    assert response.status_code == 422
    assert "Write your message first." in response.content.decode()


def test_given_a_closed_case_when_opened_then_it_says_how_to_reach_us_and_refuses_replies(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    case = make_case(customer=ada, assignee=agent)
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    _enter(client, ada)

    shown = client.get(f"/portal/cases/{case.reference}/")
    replied = client.post(f"/portal/cases/{case.reference}/", {"action": "reply", "body": "Hi"})

    assert "This case is closed" in shown.content.decode()
    assert 'name="body"' not in shown.content.decode()
    assert replied.status_code == 422
    assert not Interaction.objects.filter(case=case, direction="inbound").exists()


def test_given_the_portal_when_left_then_it_needs_a_new_link(client: Client, ada) -> None:  # type: ignore[no-untyped-def]
    _enter(client, ada)

    client.post("/portal/logout/")

    assert SESSION_KEY not in client.session
    assert client.get("/portal/")["Location"] == "/portal/login/"


# --- Messages sent by web -----------------------------------------------------------------


def test_given_staff_write_by_web_then_the_portal_shows_it_and_an_email_brings_a_fresh_link(
    client: Client, ada, agent
) -> None:  # type: ignore[no-untyped-def]
    from bounceback.cases.services import case_apologise

    case = make_case(customer=ada, assignee=agent)
    case = case_apologise(case=case, actor=agent, body=SINCERE)
    case_send_update(case=case, actor=agent, body="Your refund is on its way.", channel="web")

    deliver_all()

    queued = OutboundMessage.objects.get(channel="web")
    assert queued.state == OutboundMessage.State.SENT
    notice = next(m for m in mail.outbox if "refund is on its way" in m.body)
    assert notice.to == ["ada@example.com"]
    [link] = [url for url in links_in_mail() if url in notice.body]
    assert PortalLink.objects.get(purpose="notice").customer == ada
    client.post(path_of(link))
    page = client.get(f"/portal/cases/{case.reference}/").content.decode()
    assert "Your refund is on its way." in page
