from __future__ import annotations

from email.utils import make_msgid
from pathlib import Path

import pytest

from bounceback.audit.models import AuditEvent
from bounceback.cases.models import Case, CaseLink
from bounceback.cases.services import case_apologise, case_open
from bounceback.customers.models import Customer
from bounceback.interactions.models import Interaction
from bounceback.mail.models import InboundEmail
from bounceback.mail.parsing import parse_email, strip_quoted
from bounceback.mail.services import email_discard, email_receive, email_release
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.factories import CustomerFactory
from bounceback.testing.mail_factories import raw_email

pytestmark = pytest.mark.django_db
CORPUS = Path(__file__).parent / "corpus"
State = InboundEmail.State


@pytest.fixture
def case(agent):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Dana Whitfield", email="dana@example.net")
    return case_open(customer=customer, summary="Kettle never arrived", actor=agent)


def _send(case: Case, agent) -> OutboundMessage:  # type: ignore[no-untyped-def]
    case_apologise(
        case=case,
        actor=agent,
        body=(
            "Dana, I'm sorry: your kettle never came because our warehouse mislabelled the "
            "parcel and we did not tell you. That was our mistake. I have sent a new one by "
            "courier today at no cost, and from now on we check every label so this does not "
            "happen again."
        ),
    )
    return OutboundMessage.objects.get(interaction__case=case)


def test_given_our_reply_when_the_customer_answers_it_then_the_answer_lands_on_the_case(
    case, agent
) -> None:
    sent = _send(case, agent)
    assert sent.reply_to == f"care+{case.reference}@localhost"
    assert f"[{case.reference}]" in sent.subject
    assert case.reference in sent.body_html

    answer = raw_email(
        subject=f"Re: {sent.subject}",
        body="Thanks, it arrived.\n\nOn Tue, Care wrote:\n> Dana, I am sorry",
        in_reply_to=sent.message_id,
        references=sent.message_id,
        to=sent.reply_to,
    )
    email = email_receive(raw=answer, source="imap:INBOX")

    assert email.state == State.ACCEPTED
    assert email.case == case
    message = Interaction.objects.get(case=case, direction="inbound")
    assert message.body == "Thanks, it arrived."
    assert Case.objects.count() == 1


def test_given_a_received_email_when_staff_reply_then_it_threads_under_it(case, agent) -> None:
    first = email_receive(
        raw=raw_email(sender="dana@example.net", subject=f"[{case.reference}] more"), source="api"
    )
    assert first.case == case

    sent = _send(case, agent)

    assert sent.in_reply_to == f"<{first.message_id}>"
    assert f"<{first.message_id}>" in sent.references


def test_given_a_plus_address_from_a_stranger_when_received_then_it_is_held(case) -> None:
    email = email_receive(
        raw=raw_email(sender="mallory@evil.example", to=f"care+{case.reference}@localhost"),
        source="api",
    )
    assert email.state == State.HELD
    assert "not that case's customer" in email.reason
    assert not Interaction.objects.filter(case=case).exists()


def test_given_a_reply_to_a_closed_case_when_received_then_a_linked_case_opens(case, agent) -> None:
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    email = email_receive(
        raw=raw_email(sender="dana@example.net", subject=f"Re: [{case.reference}] again"),
        source="api",
    )
    assert email.state == State.ACCEPTED
    assert email.case != case
    assert CaseLink.objects.get(from_case=email.case).to_case == case


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto_reply"),
        ({"X-Autoreply": "yes"}, "auto_reply"),
        ({"Precedence": "bulk"}, "auto_reply"),
        ({"X-Bounceback-Case": "BB-00001"}, "loop"),
        ({"X-Loop": "care@localhost"}, "loop"),
    ],
)
def test_given_mail_no_person_wrote_when_received_then_it_is_ignored(headers, kind) -> None:
    email = email_receive(raw=raw_email(headers=headers), source="api")
    assert (email.state, email.kind) == (State.IGNORED, kind)
    assert not Case.objects.exists()


def test_given_mail_from_our_own_address_when_received_then_it_is_a_loop() -> None:
    email = email_receive(raw=raw_email(sender="Care <care+BB-00003@localhost>"), source="api")
    assert (email.state, email.kind) == (State.IGNORED, "loop")


def test_given_a_bounce_of_our_message_when_received_then_it_is_linked_to_the_case(
    case, agent
) -> None:
    sent = _send(case, agent)
    raw = (CORPUS / "bounce.eml").read_bytes().replace(b"<sent0@example.com>", b"X")
    raw = raw.replace(b"<sent", sent.message_id.encode() + b"\r\nX-Old: <sent", 1)

    email = email_receive(raw=raw, source="api")

    assert (email.state, email.kind) == (State.IGNORED, "bounce")
    assert email.case == case
    assert not Interaction.objects.filter(direction="inbound").exists()


def test_given_a_chatty_sender_when_over_the_limit_then_the_extra_mail_is_held(settings) -> None:
    settings.BOUNCEBACK_MAIL_LOOP_LIMIT = 2
    states = [email_receive(raw=raw_email(), source="api").state for _ in range(3)]
    assert states == [State.ACCEPTED, State.ACCEPTED, State.HELD]


@pytest.mark.parametrize("name", ["garbage.eml", "no_from.eml"])
def test_given_malformed_mail_when_received_then_it_is_held_for_a_person(name) -> None:
    email = email_receive(raw=(CORPUS / name).read_bytes(), source="smtp")
    assert (email.state, email.kind) == (State.HELD, "malformed")
    assert email.reason


def test_given_an_oversized_message_when_received_then_it_is_held_unparsed(settings) -> None:
    settings.BOUNCEBACK_MAIL_MAX_BYTES = 1000
    email = email_receive(raw=raw_email(body="x" * 2000), source="smtp")
    assert (email.state, email.kind) == (State.HELD, "oversized")
    assert email.subject == "My order never arrived"


def test_given_attachments_when_received_then_limits_skip_with_a_reason(settings) -> None:
    settings.BOUNCEBACK_MAIL_ATTACHMENT_MAX_BYTES = 1000
    settings.BOUNCEBACK_MAIL_ATTACHMENTS_MAX = 2
    raw = raw_email(
        attachments=[
            ("receipt.pdf", "application/pdf", b"%PDF-1.4 small"),
            ("photo.jpg", "image/jpeg", b"j" * 5000),
            ("more.txt", "text/plain", b"third"),
        ]
    )
    email = email_receive(raw=raw, source="api")
    files = {a.filename: a for a in email.attachments.all()}
    assert files["receipt.pdf"].content == b"%PDF-1.4 small"
    assert files["receipt.pdf"].interaction == email.interaction
    assert files["photo.jpg"].skipped and "limit" in files["photo.jpg"].skip_reason
    assert files["more.txt"].skipped and "more than 2" in files["more.txt"].skip_reason
    assert email.interaction.metadata["attachments"] == [a.pk for a in email.attachments.all()]


def test_given_a_blocked_file_type_when_received_then_it_is_not_stored() -> None:
    raw = raw_email(attachments=[("invoice.exe", "application/octet-stream", b"MZ")])
    attachment = email_receive(raw=raw, source="api").attachments.get()
    assert attachment.skipped and attachment.content is None


def test_given_a_held_email_when_released_into_a_case_then_it_is_filed_and_audited(
    case, agent
) -> None:
    raw = raw_email(sender="partner@else.example", to=f"care+{case.reference}@localhost")
    email = email_receive(raw=raw, source="api")
    assert email.state == State.HELD
    released = email_release(email=email, actor=agent, case_reference=case.reference.lower())
    assert released.state == State.RELEASED
    assert released.case == case
    assert released.decided_by == agent
    assert Interaction.objects.filter(case=case, direction="inbound").count() == 1
    assert AuditEvent.objects.filter(action="email_released").count() == 1


def test_given_a_held_email_when_discarded_then_it_stays_stored_with_the_reason(agent) -> None:
    email = email_receive(raw=(CORPUS / "no_from.eml").read_bytes(), source="api")
    email = email_discard(email=email, actor=agent, reason="nothing to do")
    assert email.state == State.DISCARDED
    assert "nothing to do" in email.reason
    assert AuditEvent.objects.filter(action="email_discarded").count() == 1


def test_given_a_mail_without_sender_when_released_without_a_case_then_it_is_refused(
    agent,
) -> None:
    from bounceback.errors import ValidationFailed

    email = email_receive(raw=(CORPUS / "no_from.eml").read_bytes(), source="api")
    with pytest.raises(ValidationFailed) as refused:
        email_release(email=email, actor=agent)
    assert refused.value.field == "case_reference"


def test_given_an_existing_customer_when_they_write_then_no_duplicate_customer() -> None:
    CustomerFactory(name="Dana", email="Dana@Example.net")
    email_receive(raw=raw_email(sender="DANA@example.net", message_id=make_msgid()), source="api")
    assert Customer.objects.count() == 1


# --- Parsing the corpus -------------------------------------------------------------------


def test_given_html_only_mail_when_parsed_then_text_is_safe_and_keeps_links() -> None:
    parsed = parse_email((CORPUS / "html_only.eml").read_bytes())
    assert "alert(" not in parsed.text and "color:red" not in parsed.text
    assert "<p>" not in parsed.text
    assert "my order (https://example.org/order/" in parsed.text
    assert "& fix it" in parsed.text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("latin1.eml", "Très déçu"),
        ("cp1252.eml", "\u201cUnacceptable\u201d \u2013"),
        ("mislabelled.eml", "Naïve billing — "),
        ("quoted_printable.eml", "Prix: 40 €."),
        ("base64_text.eml", " "),
    ],
)
def test_given_charset_quirks_when_parsed_then_the_text_reads_right(name, expected) -> None:
    parsed = parse_email((CORPUS / name).read_bytes())
    assert expected in parsed.text
    assert "\ufffd" not in parsed.text


def test_given_encoded_word_subjects_when_parsed_then_they_are_decoded() -> None:
    parsed = parse_email((CORPUS / "encoded_subject.eml").read_bytes())
    assert "=?" not in parsed.subject
    assert parsed.subject in ("注文が届きません: order missing", "Ärger mit der Rückerstattung ✉")


def test_given_outlook_related_mail_when_parsed_then_plain_text_and_inline_image() -> None:
    parsed = parse_email((CORPUS / "outlook_related.eml").read_bytes())
    assert "<p>" not in parsed.text
    assert [a.filename for a in parsed.attachments] == ["image001.png"]


def test_given_a_path_in_a_filename_when_parsed_then_only_the_name_is_kept() -> None:
    parsed = parse_email((CORPUS / "pdf_attachment.eml").read_bytes())
    assert [a.filename for a in parsed.attachments] == ["receipt.pdf"]


@pytest.mark.parametrize(
    "marker",
    [
        "On Mon, 6 May 2024 at 10:02, Care <care@example.com> wrote:",
        "-----Original Message-----",
        "From: Care Team\nSent: Monday",
    ],
)
def test_given_a_reply_with_history_when_stripped_then_only_the_new_text_remains(marker) -> None:
    text = f"Still broken.\n\n{marker}\n> We are sorry\nold text"
    assert strip_quoted(text) == "Still broken."
