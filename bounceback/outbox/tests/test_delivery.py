from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import (
    MAX_ATTEMPTS,
    outbox_deliver,
    outbox_enqueue,
    outbox_retry_now,
    outbox_sweep,
)
from bounceback.testing.factories import CustomerFactory

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


def _queue(**kwargs: object) -> OutboundMessage:
    customer = CustomerFactory(email="ada@example.com")
    return outbox_enqueue(
        channel="email",
        to_address="ada@example.com",
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


def test_a_worker_that_died_mid_send_is_covered_by_the_sweep(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = _queue()
    # Given a worker claimed it and died before recording the result
    long_ago = timezone.now() - timedelta(minutes=10)
    OutboundMessage.objects.filter(pk=message.pk).update(
        state=OutboundMessage.State.SENDING,
        attempts=1,
        lease_until=long_ago,
        next_attempt_at=long_ago,
        dispatched_at=long_ago,
    )

    # When the sweep runs, it hands the message out again exactly once
    first = outbox_sweep()
    second = outbox_sweep()
    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert (first, second) == (1, 0)
    assert message.state == OutboundMessage.State.SENT
    assert len(mail.outbox) == 1


def test_a_message_is_only_written_if_its_step_commits(settings) -> None:
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        _queue()
        raise RuntimeError("the step failed")

    assert OutboundMessage.objects.count() == 0
