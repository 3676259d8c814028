from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.customers.models import Customer
from bounceback.interactions.models import Interaction
from bounceback.outbox.models import OutboundMessage
from bounceback.portal.models import PortalLink, WebFormSubmission
from bounceback.testing.factories import CustomerFactory, SiteFactory
from bounceback.testing.portal_factories import deliver_all, links_in_mail

pytestmark = pytest.mark.django_db

URL = "/report/"


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "",
        "what_happened": "Our table was given away.\nWe waited an hour.",
        "happened_at": "",
        "where": "",
        "where_else": "",
        "wanted": "A refund of the deposit",
        "contact_by": "email",
        "website": "",
    }
    data.update(overrides)
    return data


def test_given_a_visitor_when_they_open_the_form_then_it_has_every_field_and_no_staff_navigation(
    client: Client,
) -> None:
    SiteFactory(code="grand-hall", name="Grand Hall")

    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Tell us what went wrong" in page
    assert "csrfmiddlewaretoken" in page
    assert '<option value="grand-hall">Grand Hall</option>' in page
    assert "Somewhere else" in page
    assert 'name="website"' in page and 'tabindex="-1"' in page and 'autocomplete="off"' in page
    assert "mainnav" not in page and "Sign out" not in page


def test_given_a_new_address_when_the_form_is_sent_then_a_case_and_a_magic_link_email_follow(
    client: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    site = SiteFactory(code="grand-hall", name="Grand Hall")
    when = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        URL,
        _form(where="grand-hall", happened_at=when, phone="+44 20 7946 0000", contact_by="sms"),
        follow=True,
    )

    case = Case.objects.get()
    assert response.status_code == 200
    assert f"Your reference is <strong>{case.reference}</strong>" in response.content.decode()
    assert case.channel == "web" and case.site == site
    assert case.summary == "Our table was given away."
    assert "Where: Grand Hall" in case.description
    customer = case.customer
    assert customer.name == "Ada Lovelace"
    assert customer.primary_email == "ada@example.com"
    # The typed phone is not proved to be theirs: it is on the case, not the customer.
    assert customer.primary_phone is None
    assert "+442079460000" in case.description
    assert customer.preferred_channel == "sms"
    message = Interaction.objects.get(case=case)
    assert message.direction == "inbound" and message.channel == "web"
    assert "A refund of the deposit" in message.body
    outbound = OutboundMessage.objects.get()
    assert outbound.channel == "email" and outbound.to_address == "ada@example.com"
    deliver_all()
    assert mail.outbox[0].to == ["ada@example.com"]
    assert case.reference in mail.outbox[0].subject
    assert len(links_in_mail()) == 1
    assert PortalLink.objects.get().customer == customer
    submission = WebFormSubmission.objects.get()
    assert submission.outcome == "accepted" and submission.case == case
    assert submission.ip == "127.0.0.1"


def test_given_a_known_address_in_other_case_when_sent_then_the_customer_is_reused_unchanged(
    client: Client,
) -> None:
    known = CustomerFactory(name="Ada King", email="Ada@Example.com")

    response = client.post(URL, _form(email="ADA@example.com", name="Someone Else"), follow=True)

    assert response.status_code == 200
    assert Customer.objects.count() == 1
    case = Case.objects.get()
    assert case.customer == known
    known.refresh_from_db()
    assert known.name == "Ada King"
    assert "Name given: Someone Else" in case.description


def test_given_someone_elses_phone_when_sent_then_their_messages_cannot_be_routed_to_the_sender(
    client: Client,
) -> None:
    CustomerFactory(email="other@example.com", phone="+442079460000")

    client.post(URL, _form(phone="+44 20 7946 0000"))

    case = Case.objects.get()
    assert case.customer.primary_phone is None
    assert "Phone given: +442079460000" in case.description


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "Tell us your name."),
        ({"email": ""}, "email", "We need your email to reply to you."),
        ({"email": "ada@"}, "email", "Enter an email address like name@example.com."),
        ({"what_happened": "  "}, "what_happened", "Tell us what went wrong."),
        ({"happened_at": "yesterday"}, "happened_at", "Enter a date and time"),
        ({"happened_at": "2999-01-01T10:00"}, "happened_at", "That time is in the future."),
        ({"where": "nowhere-known"}, "where", "Select a valid choice"),
        ({"where": "elsewhere"}, "where_else", "Tell us where it happened."),
        ({"contact_by": "sms"}, "phone", "Give a phone number so we can call or text you."),
        ({"contact_by": "pigeon"}, "contact_by", "Select a valid choice"),
        ({"phone": "call me"}, "phone", "is not a valid phone number"),
    ],
)
def test_given_a_bad_field_when_sent_then_that_field_says_what_is_wrong_and_nothing_is_written(
    client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    response = client.post(URL, _form(**overrides))

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert not Case.objects.exists() and not WebFormSubmission.objects.exists()


def test_given_no_csrf_token_when_the_form_is_sent_then_it_is_refused_with_403() -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(URL, _form())

    assert response.status_code == 403
    assert not Case.objects.exists()


def test_given_the_hidden_field_filled_when_sent_then_the_same_thanks_but_nothing_is_created(
    client: Client,
) -> None:
    response = client.post(URL, _form(website="http://spam.example"), follow=True)

    assert response.status_code == 200
    assert "Thank you for telling us" in response.content.decode()
    assert "Your reference" not in response.content.decode()
    assert not Case.objects.exists() and not Customer.objects.exists()
    assert not OutboundMessage.objects.exists()
    assert WebFormSubmission.objects.get().outcome == "honeypot"


def test_given_the_limit_per_address_used_when_sent_again_then_429_and_nothing_created(
    client: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_FORM_LIMIT_PER_IP = 2
    for n in range(2):
        assert client.post(URL, _form(email=f"person{n}@example.com")).status_code == 302

    response = client.post(URL, _form(email="person9@example.com"))

    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert Case.objects.count() == 2
    # Nothing of the refused report is kept: not its text, its address or its sender.
    assert WebFormSubmission.objects.count() == 2
    assert not WebFormSubmission.objects.filter(email="person9@example.com").exists()
    # Another address is not held back by this one.
    assert client.post(URL, _form(), REMOTE_ADDR="10.0.0.9").status_code == 302


def test_given_the_limit_per_email_used_when_sent_from_elsewhere_then_429(
    client: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_FORM_LIMIT_PER_EMAIL = 1
    assert client.post(URL, _form(), REMOTE_ADDR="10.0.0.1").status_code == 302

    response = client.post(URL, _form(email="ADA@example.com"), REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 429
    assert Case.objects.count() == 1


def test_given_no_proxy_when_a_forwarded_header_is_sent_then_it_cannot_dodge_the_limit(
    client: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_FORM_LIMIT_PER_IP = 1
    settings.BOUNCEBACK_TRUST_X_FORWARDED_FOR = False
    client.post(URL, _form(email="a@example.com"), HTTP_X_FORWARDED_FOR="1.1.1.1")

    response = client.post(URL, _form(email="b@example.com"), HTTP_X_FORWARDED_FOR="2.2.2.2")

    assert response.status_code == 429


def test_given_our_proxy_when_it_forwards_then_its_last_hop_is_the_client(
    client: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_TRUST_X_FORWARDED_FOR = True

    client.post(URL, _form(), HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")

    assert WebFormSubmission.objects.get().ip == "203.0.113.7"
