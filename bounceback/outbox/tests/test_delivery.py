"""Delivering outbox messages: once, on time, retried when the refusal is temporary."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bounceback.background import leases
from bounceback.background.deliveries import lane_run_due
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import (
    MAX_ATTEMPTS,
    OUTBOX_LANE,
    outbox_deliver,
    outbox_enqueue,
    outbox_retry_now,
)
from bounceback.testing.factories import CustomerFactory
from bounceback.testing.smtp import TestSmtpServer

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_down(settings):  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _closed_port()
    settings.EMAIL_TIMEOUT = 2


@pytest.fixture
def smtp(settings) -> Iterator[TestSmtpServer]:  # type: ignore[no-untyped-def]
    server = TestSmtpServer().start()
    for name, value in server.settings().items():
        setattr(settings, name, value)
    yield server
    server.stop()


@pytest.fixture
def long_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process has been in touch with the database for longer than a lease."""
    monkeypatch.setattr(leases, "_connected_since", time.monotonic() - 3600)


def _queue(email: str = "ada@example.com", **kwargs: object) -> OutboundMessage:
    customer = CustomerFactory(email=email)
    return outbox_enqueue(
        channel="email",
        to_address=email,
        subject="We're sorry",
        body_text="I'm sorry we lost your booking.",
        customer=customer,
        **kwargs,
    )


def test_a_message_is_delivered_once_with_its_message_id(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = _queue(in_reply_to="<abc@customer.example>")

    outbox_deliver(message_id=message.pk)
    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == OutboundMessage.State.SENT
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ada@example.com"]
    assert sent.extra_headers["Message-ID"] == message.message_id
    assert sent.extra_headers["In-Reply-To"] == "<abc@customer.example>"


def test_a_down_mail_server_means_retry_later_not_loss(smtp_down) -> None:
    message = _queue()

    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == OutboundMessage.State.RETRYING
    assert message.attempts == 1
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()


def test_a_retry_is_not_attempted_before_its_time(smtp_down, settings) -> None:
    message = _queue()
    outbox_deliver(message_id=message.pk)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    early = outbox_deliver(message_id=message.pk)
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    later = outbox_deliver(message_id=message.pk)

    assert early is None
    assert later is not None and later.state == OutboundMessage.State.SENT
    assert len(mail.outbox) == 1


def test_after_the_last_attempt_the_message_fails_visibly(smtp_down) -> None:
    message = _queue()
    OutboundMessage.objects.filter(pk=message.pk).update(attempts=MAX_ATTEMPTS - 1)

    outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    state_after_last_attempt = message.state
    retried = outbox_retry_now(message=message)

    assert state_after_last_attempt == OutboundMessage.State.FAILED
    assert retried.state == OutboundMessage.State.QUEUED


def test_a_message_scheduled_for_later_is_not_sent_early(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = _queue()
    OutboundMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    # However many workers wake up for it.
    results = [outbox_deliver(message_id=message.pk) for _ in range(3)]
    swept = lane_run_due(OUTBOX_LANE)

    assert results == [None, None, None] and swept == 0
    assert mail.outbox == []


def test_a_dead_senders_message_is_taken_over_once_its_lease_lapses(
    settings, long_connected
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = _queue()
    # Given a worker claimed it and died before recording the result
    long_ago = timezone.now() - timedelta(minutes=10)
    OutboundMessage.objects.filter(pk=message.pk).update(
        state=OutboundMessage.State.SENDING,
        attempts=1,
        lease_owner="a-dead-worker",
        lease_until=long_ago,
        next_attempt_at=long_ago,
    )

    # When a lane runs, it sends the message again exactly once
    first = lane_run_due(OUTBOX_LANE)
    second = lane_run_due(OUTBOX_LANE)

    message.refresh_from_db()
    assert (first, second) == (1, 0)
    assert message.state == OutboundMessage.State.SENT
    assert message.attempts == 2
    assert len(mail.outbox) == 1


def test_a_live_senders_message_is_left_alone(settings, long_connected) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = _queue()
    OutboundMessage.objects.filter(pk=message.pk).update(
        state=OutboundMessage.State.SENDING,
        lease_owner="a-slow-worker",
        lease_until=timezone.now() + timedelta(seconds=20),
        next_attempt_at=timezone.now() + timedelta(seconds=20),
    )

    assert lane_run_due(OUTBOX_LANE) == 0
    assert mail.outbox == []


def test_a_process_just_back_from_an_outage_does_not_take_others_messages(
    settings, monkeypatch
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = _queue()
    long_ago = timezone.now() - timedelta(minutes=10)
    OutboundMessage.objects.filter(pk=message.pk).update(
        state=OutboundMessage.State.SENDING,
        lease_owner="a-worker-that-may-be-recording-it",
        lease_until=long_ago,
        next_attempt_at=long_ago,
    )
    # Reconnected a moment ago: the owner may be reconnecting too, to record it.
    monkeypatch.setattr(leases, "_connected_since", time.monotonic() - 1)

    assert lane_run_due(OUTBOX_LANE) == 0
    assert mail.outbox == []


def test_a_message_is_only_written_if_its_step_commits(settings) -> None:
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        _queue()
        raise RuntimeError("the step failed")

    assert OutboundMessage.objects.count() == 0


# --- Against a real SMTP server -------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "answer"),
    [("rcpt", "451 4.7.1 Greylisted, try again later"), ("data", "451 4.3.0 Try again")],
)
def test_a_temporary_refusal_at_any_stage_is_retried(smtp, stage, answer) -> None:
    message = _queue()
    setattr(smtp.behaviour, stage, answer)

    outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    refused_state = message.state
    smtp.behaviour.rcpt, smtp.behaviour.data = "250 OK", "250 Message accepted"
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert refused_state == OutboundMessage.State.RETRYING
    assert message.state == OutboundMessage.State.SENT
    assert smtp.received.message_ids[message.message_id] == 1


@pytest.mark.parametrize(
    ("stage", "answer"),
    [("rcpt", "550 5.1.1 No such mailbox"), ("data", "554 5.6.0 Message refused")],
)
def test_a_permanent_refusal_fails_the_message_at_once(smtp, stage, answer) -> None:
    message = _queue()
    setattr(smtp.behaviour, stage, answer)

    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == OutboundMessage.State.FAILED
    assert message.attempts == 1
    assert answer.split()[0] in message.last_error


def test_one_connection_carries_a_wave_and_each_message_arrives_once(smtp, settings) -> None:
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 60_000}
    messages = [_queue(f"guest{n}@example.com") for n in range(20)]

    sent = lane_run_due(OUTBOX_LANE)

    assert sent == 20
    assert smtp.received.total() == 20
    assert smtp.received.duplicates() == {}
    assert {m.message_id for m in messages} == set(smtp.received.message_ids)


def test_a_slow_end_of_data_is_waited_for(smtp, settings) -> None:
    # Given a server taking longer to answer the end of DATA than connecting may take
    settings.EMAIL_TIMEOUT = 1
    settings.BOUNCEBACK_SMTP_REPLY_TIMEOUT = 30
    smtp.behaviour.data_delay = 2.0
    message = _queue()

    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == OutboundMessage.State.SENT
    assert smtp.received.message_ids[message.message_id] == 1


def test_a_channel_never_sends_faster_than_its_rate(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 6}  # one every 10 s
    for n in range(3):
        _queue(f"guest{n}@example.com")

    # However often a lane looks, only one slot is free now.
    sent = sum(lane_run_due(OUTBOX_LANE, wait_for_slots=False) for _ in range(5))

    assert sent == 1
    assert len(mail.outbox) == 1
