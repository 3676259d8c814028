"""Mail built to hurt (impossible dates, huge bodies, link bombs) is stored, never stuck."""

from __future__ import annotations

import pytest

from bounceback.cases.models import Case
from bounceback.mail.html_text import html_to_text
from bounceback.mail.models import InboundEmail
from bounceback.mail.services import email_receive
from bounceback.testing.mail_factories import raw_email

pytestmark = pytest.mark.django_db


def test_a_date_no_database_can_hold_is_dropped_and_the_mail_still_opens_a_case() -> None:
    raw = raw_email().replace(b"Date: ", b"X-Old-Date: ", 1)
    raw = b"Date: Fri, 31 Dec 9999 23:59:59 -1200\r\n" + raw

    email = email_receive(raw=raw, source="imap:INBOX")

    email.refresh_from_db()
    assert email.state == InboundEmail.State.ACCEPTED
    assert email.sent_at is None
    assert Case.objects.count() == 1


def test_an_oversized_message_is_held_with_only_its_header_kept(settings) -> None:  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_MAIL_MAX_BYTES = 2000
    raw = raw_email(body="My whole photo album is attached. " * 400)

    email = email_receive(raw=raw, source="imap:INBOX")

    email.refresh_from_db()
    assert email.state == InboundEmail.State.HELD
    assert email.size == len(raw)
    assert bytes(email.raw).startswith(b"From: ") or b"Subject: My order never arrived" in bytes(
        email.raw
    )
    assert b"photo album" not in bytes(email.raw)
    assert not Case.objects.exists()


def test_thousands_of_nested_links_still_come_out_as_text() -> None:
    html = "<a href='https://example.net/x'>" * 5000 + "Refund please" + "</a>" * 5000

    text = html_to_text(html)

    assert "Refund please" in text
