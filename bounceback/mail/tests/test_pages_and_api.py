from __future__ import annotations

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.cases.services import case_open
from bounceback.mail.models import InboundEmail
from bounceback.mail.services import email_receive
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.mail_factories import raw_email

pytestmark = pytest.mark.django_db


def _held() -> InboundEmail:
    return email_receive(raw=b"\x00\x01 not an email at all", source="smtp")


def test_given_mail_when_staff_list_it_then_held_comes_first_in_few_queries(
    agent_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for index in range(5):
        email_receive(raw=raw_email(subject=f"Complaint {index}"), source="api")
    held = _held()

    with django_assert_max_num_queries(12):
        response = agent_client.get("/mail/")

    assert response.status_code == 200
    assert response.context["emails"][0] == held
    assert b"Complaint 4" in response.content
    filtered = agent_client.get("/mail/?state=held")
    assert list(filtered.context["emails"]) == [held]


def test_given_a_held_email_when_staff_release_it_then_it_opens_a_case(agent_client) -> None:
    email = email_receive(
        raw=raw_email(sender="someone@example.org", to="care+BB-00001@localhost"), source="api"
    )
    customer = CustomerFactory(email="owner@example.org")
    case = case_open(customer=customer, summary="Someone else's case", actor=None)
    email = email_receive(
        raw=raw_email(sender="someone@example.org", to=f"care+{case.reference}@localhost"),
        source="api",
    )
    assert email.state == InboundEmail.State.HELD

    page = agent_client.get(f"/mail/{email.pk}/")
    assert b"Release into a case" in page.content

    refused = agent_client.post(f"/mail/{email.pk}/release/", {"case_reference": "BB-99999"})
    assert refused.status_code == 422
    assert b"there is no case BB-99999" in refused.content

    done = agent_client.post(f"/mail/{email.pk}/release/", {"case_reference": ""})
    assert done.status_code == 302
    email.refresh_from_db()
    assert email.state == InboundEmail.State.RELEASED
    assert email.case.customer.primary_email == "someone@example.org"


def test_given_a_discard_without_reason_when_posted_then_the_field_says_why(agent_client) -> None:
    email = _held()
    response = agent_client.post(f"/mail/{email.pk}/discard/", {"reason": ""})
    assert response.status_code == 422
    assert response.context["discard_form"].errors["reason"]


def test_given_an_attachment_when_downloaded_then_it_is_an_attachment_and_permission_checked(
    agent_client,
) -> None:
    email = email_receive(
        raw=raw_email(attachments=[("a b<script>.pdf", "application/pdf", b"%PDF-1.4")]),
        source="api",
    )
    attachment = email.attachments.get()

    response = agent_client.get(f"/mail/attachments/{attachment.pk}/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="a_bscript.pdf"'
    assert response.content == b"%PDF-1.4"
    raw = agent_client.get(f"/mail/{email.pk}/raw/")
    assert raw["Content-Disposition"].startswith("attachment;")
    case_page = agent_client.get(f"/cases/{email.case_id}/")
    assert (
        b"a bscript.pdf" in case_page.content or attachment.filename.encode() in case_page.content
    )
    outsider = Client()
    outsider.force_login(UserFactory(role=Role.AGENT, groups=None))
    outsider.logout()
    assert outsider.get(f"/mail/attachments/{attachment.pk}/").status_code == 302


def test_given_raw_mail_when_posted_to_the_api_then_stored_once(make_token_client) -> None:
    api = make_token_client("mail:write", "mail:read")
    raw = raw_email()

    first = api.post("/api/mail/inbound", data=raw, content_type="message/rfc822")
    again = api.post("/api/mail/inbound", data=raw, content_type="message/rfc822")

    assert first.status_code == 201, first.content
    assert first.json()["state"] == "accepted"
    assert first.json()["case_reference"].startswith("BB-")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    wrong = api.post("/api/mail/inbound", data=b"{}", content_type="application/json")
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "content_type"


def test_given_held_mail_when_listed_by_api_then_paged_and_decidable(
    make_token_client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    api = make_token_client("mail:write", "mail:read")
    for index in range(3):
        email_receive(raw=b"garbage %d" % index, source="smtp")
    email_receive(raw=raw_email(), source="api")

    with django_assert_max_num_queries(6):
        page = api.get("/api/mail/messages?state=held&limit=2")

    assert page.status_code == 200
    assert len(page.json()["items"]) == 2
    assert page.json()["next_cursor"]
    held_id = page.json()["items"][0]["id"]
    assert api.get(f"/api/mail/messages/{held_id}").json()["state"] == "held"
    refused = api.post(
        f"/api/mail/messages/{held_id}/release", data={}, content_type="application/json"
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "case_reference"
    gone = api.post(
        f"/api/mail/messages/{held_id}/discard",
        data={"reason": "junk"},
        content_type="application/json",
    )
    assert gone.json()["state"] == "discarded"
    again = api.post(
        f"/api/mail/messages/{held_id}/discard",
        data={"reason": "junk"},
        content_type="application/json",
    )
    assert again.status_code == 409
    reader = make_token_client("mail:read")
    assert reader.post("/api/mail/inbound", data=b"x", content_type="text/plain").status_code == 403
