"""IMAP polling against a real dovecot (see conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connections
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.mail import imap
from bounceback.mail.imap import ImapMailbox, _claimed, imap_poll, imap_poll_due
from bounceback.mail.models import InboundEmail, MailboxCursor
from bounceback.mail.tasks import poll_mailbox
from bounceback.mail.tests.conftest import PASSWORD, USER, Dovecot, make_message
from bounceback.timers.clock import clock_tick

pytestmark = pytest.mark.django_db


def _three_complaints() -> list[bytes]:
    return [
        make_message(sender="Dana Whitfield <dana@example.net>"),
        make_message(
            sender="Omar Haddad <omar.haddad@example.org>",
            subject="Double charged for my booking",
            body="Hi, my card was charged twice for booking 4471. Please refund one.\nOmar",
        ),
        make_message(
            sender="=?utf-8?q?Ren=C3=A9e_Dubois?= <renee@example.fr>",
            subject="=?utf-8?q?Chambre_non_nettoy=C3=A9e?=",
            body="Bonjour, la chambre n'a pas été nettoyée pendant trois jours.\nRenée",
        ),
    ]


@pytest.fixture(autouse=True)
def _fresh_clock_memory() -> None:
    imap._next_check.clear()


def test_given_new_mail_when_polled_then_each_message_opens_a_case_and_is_flagged_seen(
    dovecot: Dovecot, folder: str
) -> None:
    dovecot.append(folder, *_three_complaints())

    result = imap_poll(mailbox=dovecot.mailbox(folder))

    assert (result.error, result.read, result.stored, result.duplicates) == ("", 3, 3, 0)
    emails = InboundEmail.objects.filter(pk__in=result.email_ids)
    assert {e.from_address for e in emails} == {
        "dana@example.net",
        "omar.haddad@example.org",
        "renee@example.fr",
    }
    assert {e.source for e in emails} == {"imap"}
    assert all(e.state == InboundEmail.State.ACCEPTED and e.case_id for e in emails)
    assert Case.objects.filter(pk__in=[e.case_id for e in emails]).count() == 3
    assert dovecot.seen(folder) == 3
    cursor = MailboxCursor.objects.get(name=dovecot.mailbox(folder).name)
    assert (cursor.last_uid, cursor.last_error) == (3, "")
    assert cursor.uidvalidity and cursor.last_polled_at


def test_given_a_polled_mailbox_when_more_mail_arrives_then_only_the_new_messages_are_read(
    dovecot: Dovecot, folder: str
) -> None:
    mailbox = dovecot.mailbox(folder)
    dovecot.append(folder, make_message(sender="dana@example.net"))
    imap_poll(mailbox=mailbox)

    dovecot.append(
        folder,
        make_message(sender="omar@example.org", subject="Broken shower"),
        make_message(sender="lee@example.com", subject="Rude staff at check-in"),
    )
    second = imap_poll(mailbox=mailbox)
    third = imap_poll(mailbox=mailbox)

    assert (second.read, second.stored) == (2, 2)
    assert third.read == 0
    assert InboundEmail.objects.count() == 3


def test_given_unseen_flags_cleared_when_a_restarted_worker_polls_then_nothing_is_read_twice(
    dovecot: Dovecot, folder: str
) -> None:
    mailbox = dovecot.mailbox(folder)
    dovecot.append(folder, *_three_complaints())
    imap_poll(mailbox=mailbox)
    # Someone marks everything unread again in their mail client; the cursor in
    # the database, not the flag, decides what has been read.
    conn = dovecot.client()
    conn.select(folder)
    conn.uid("STORE", "1:*", "-FLAGS", r"(\Seen)")
    conn.logout()

    again = imap_poll(mailbox=ImapMailbox(**mailbox.__dict__))

    assert again.read == 0
    assert InboundEmail.objects.count() == 3


def test_given_the_folder_was_recreated_when_polled_then_old_messages_are_not_stored_twice(
    dovecot: Dovecot, folder: str
) -> None:
    mailbox = dovecot.mailbox(folder)
    first, second = make_message(sender="dana@example.net"), make_message(sender="omar@example.org")
    dovecot.append(folder, first, second)
    imap_poll(mailbox=mailbox)
    before = MailboxCursor.objects.get(name=mailbox.name).uidvalidity

    dovecot.recreate(folder)
    dovecot.append(folder, first, second, make_message(sender="lee@example.com"))
    result = imap_poll(mailbox=mailbox)

    assert (result.read, result.stored, result.duplicates) == (3, 1, 2)
    assert InboundEmail.objects.count() == 3
    cursor = MailboxCursor.objects.get(name=mailbox.name)
    assert cursor.uidvalidity != before
    assert cursor.last_uid == 3


def test_given_storage_fails_mid_batch_when_polled_again_then_only_unstored_messages_are_read(
    dovecot: Dovecot, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bounceback.mail import services

    mailbox = dovecot.mailbox(folder)
    dovecot.append(folder, *_three_complaints())
    real = services.email_receive
    calls = []

    def failing_second(**kwargs: object) -> InboundEmail:
        calls.append(1)
        if len(calls) == 2:
            raise DatabaseError("the database went away")
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "email_receive", failing_second)
    with pytest.raises(DatabaseError):
        imap_poll(mailbox=mailbox)
    assert MailboxCursor.objects.get(name=mailbox.name).last_uid == 1
    monkeypatch.setattr(services, "email_receive", real)

    result = imap_poll(mailbox=mailbox)

    assert (result.read, result.stored) == (2, 2)
    assert InboundEmail.objects.count() == 3


def test_given_a_wrong_password_when_polled_then_the_error_is_recorded_not_raised(
    dovecot: Dovecot, folder: str
) -> None:
    mailbox = dovecot.mailbox(folder, password="wrong")

    result = imap_poll(mailbox=mailbox)

    assert result.read == 0
    assert f"login as {USER} refused by 127.0.0.1" in result.error
    assert "AUTHENTICATIONFAILED" in result.error
    assert MailboxCursor.objects.get(name=mailbox.name).last_error == result.error


def test_given_nothing_listens_when_polled_then_the_error_says_so(dovecot: Dovecot) -> None:
    from bounceback.server.testing import free_port

    mailbox = ImapMailbox(
        host="127.0.0.1", port=free_port(), security="plain", user=USER, password=PASSWORD
    )

    result = imap_poll(mailbox=mailbox)

    assert result.error.startswith(f"127.0.0.1:{mailbox.port}: ")
    assert "refused" in result.error.lower()


@pytest.mark.parametrize(
    ("security", "options"),
    [
        ("starttls", {"tls_verify": False}),
        ("ssl", {"tls_verify": False}),
        ("ssl", {"ca_file": "from-fixture"}),
    ],
    ids=["starttls", "imaps-unverified", "imaps-private-ca"],
)
def test_given_a_tls_mailbox_when_polled_then_mail_is_read(
    dovecot: Dovecot, folder: str, security: str, options: dict[str, object]
) -> None:
    if not dovecot.ssl_port:
        pytest.skip("no openssl to make the test certificate")
    if options.get("ca_file"):
        options = {"ca_file": dovecot.ca_file}
    dovecot.append(folder, make_message())

    result = imap_poll(mailbox=dovecot.mailbox(folder, security=security, **options))

    assert (result.error, result.stored) == ("", 1)


def test_given_an_untrusted_certificate_when_verifying_then_the_poll_fails_clearly(
    dovecot: Dovecot, folder: str
) -> None:
    if not dovecot.ssl_port:
        pytest.skip("no openssl to make the test certificate")

    result = imap_poll(mailbox=dovecot.mailbox(folder, security="ssl"))

    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert InboundEmail.objects.count() == 0


def test_given_another_worker_polls_the_mailbox_when_polled_then_nothing_is_read(
    dovecot: Dovecot, folder: str
) -> None:
    mailbox = dovecot.mailbox(folder)
    dovecot.append(folder, make_message())
    other = connections.create_connection("default")
    try:
        with _claimed(mailbox.name, using=other) as claimed:
            assert claimed
            busy = imap_poll(mailbox=mailbox)
    finally:
        other.close()

    after = imap_poll(mailbox=mailbox)

    assert busy.busy and busy.read == 0
    assert after.stored == 1


def test_given_a_limit_when_more_mail_waits_then_the_poll_says_there_is_more(
    dovecot: Dovecot, folder: str
) -> None:
    dovecot.append(folder, *_three_complaints())

    first = imap_poll(mailbox=dovecot.mailbox(folder), limit=2)
    rest = imap_poll(mailbox=dovecot.mailbox(folder), limit=2)

    assert (first.read, first.more) == (2, True)
    assert (rest.read, rest.more) == (1, False)


# ---------------------------------------------------------------- the worker's clock


@pytest.fixture
def imap_settings(settings, dovecot: Dovecot, folder: str):  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_IMAP_HOST = dovecot.host
    settings.BOUNCEBACK_IMAP_PORT = dovecot.port
    settings.BOUNCEBACK_IMAP_SECURITY = "plain"
    settings.BOUNCEBACK_IMAP_USER = USER
    settings.BOUNCEBACK_IMAP_PASSWORD = PASSWORD
    settings.BOUNCEBACK_IMAP_FOLDER = folder
    settings.BOUNCEBACK_IMAP_POLL_SECONDS = 60
    return settings


def test_given_imap_is_off_when_the_clock_ticks_then_it_costs_no_query(
    settings, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    settings.BOUNCEBACK_IMAP_HOST = ""

    with django_assert_num_queries(0):
        assert imap_poll_due() == 0


def test_given_imap_is_on_when_the_clock_ticks_then_a_poll_is_queued_once_per_interval(
    imap_settings,  # type: ignore[no-untyped-def]
    dovecot: Dovecot,
    folder: str,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
) -> None:
    dovecot.append(folder, make_message())
    now = timezone.now()

    with django_capture_on_commit_callbacks() as queued:
        first = clock_tick(now=now)
        with django_assert_num_queries(0):
            soon = imap_poll_due(now=now + timedelta(seconds=30))
    poll_mailbox.call()
    later = imap_poll_due(now=timezone.now() + timedelta(seconds=61))

    assert first["imap"] == 1 and soon == 0 and len(queued) == 1
    assert InboundEmail.objects.filter(source="imap").count() == 1
    assert later == 1


def test_given_a_recent_poll_when_the_clock_ticks_then_nothing_is_queued(
    imap_settings,  # type: ignore[no-untyped-def]
    dovecot: Dovecot,
    folder: str,
) -> None:
    imap_poll()

    assert imap_poll_due(now=timezone.now() + timedelta(seconds=10)) == 0


# ---------------------------------------------------------------- the command


def test_given_good_settings_when_imap_poll_once_runs_then_it_prints_what_it_read(
    imap_settings,  # type: ignore[no-untyped-def]
    dovecot: Dovecot,
    folder: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dovecot.append(folder, *_three_complaints()[:2])

    call_command("imap-poll", "--once")

    assert "2 read, 2 stored, 0 duplicates, 0 held" in capsys.readouterr().out


def test_given_a_refused_login_when_imap_poll_once_runs_then_one_clear_error(
    imap_settings,  # type: ignore[no-untyped-def]
) -> None:
    imap_settings.BOUNCEBACK_IMAP_PASSWORD = "wrong"

    with pytest.raises(CommandError, match=f"login as {USER} refused"):
        call_command("imap-poll", "--once")


def test_given_imap_is_off_when_imap_poll_runs_then_it_says_which_settings_to_set(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.BOUNCEBACK_IMAP_HOST = ""

    with pytest.raises(CommandError, match="BOUNCEBACK_IMAP_HOST"):
        call_command("imap-poll", "--once")
