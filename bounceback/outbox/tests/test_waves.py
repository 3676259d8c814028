"""Waves of messages (a breakdown's outreach): throttled, held and released."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bounceback.background.deliveries import lane_due, lane_run_due
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import (
    OUTBOX_LANE,
    outbox_deliver,
    outbox_hold,
    outbox_release,
    outbox_stagger,
)
from bounceback.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


def _wave(n: int, *, batch: str = "bd-1-outreach", start=None, gap=timedelta(seconds=1)):  # type: ignore[no-untyped-def]
    customer = CustomerFactory()
    start = start or timezone.now()
    return [
        OutboundMessage.objects.create(
            channel="email",
            customer=customer,
            to_address=f"guest{i}@example.com",
            subject="We're sorry",
            body_text="Sorry about the power cut.",
            message_id=f"<wave-{next(_ids)}@example.com>",
            batch=batch,
            next_attempt_at=start + i * gap,
        )
        for i in range(n)
    ]


def test_stagger_spaces_each_channel_at_its_rate(settings):
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 120, "sms": 30}
    now = timezone.now()

    times = outbox_stagger(channels=["email", "sms", "email", "sms", "email"], now=now)

    assert times == [
        now,
        now,
        now + timedelta(seconds=0.5),
        now + timedelta(seconds=2),
        now + timedelta(seconds=1),
    ]


def test_a_second_wave_queues_behind_the_first_on_the_same_channel(settings):
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 60}
    now = timezone.now()
    first = _wave(3, start=now)  # at now, +1 s, +2 s

    times = outbox_stagger(channels=["email"], now=now)

    assert times == [first[-1].next_attempt_at + timedelta(seconds=1)]


def test_a_lane_sends_only_the_messages_that_fell_due(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    now = timezone.now()
    _wave(10, start=now - timedelta(minutes=2, seconds=30), gap=timedelta(minutes=1))

    sent = lane_run_due(OUTBOX_LANE)

    assert sent == 3
    assert len(mail.outbox) == 3
    assert OutboundMessage.objects.filter(state="sent").count() == 3


def test_held_messages_are_neither_claimed_nor_delivered():
    now = timezone.now()
    messages = _wave(3, start=now - timedelta(minutes=5))

    assert outbox_hold(batches=["bd-1-outreach"]) == 3

    assert lane_run_due(OUTBOX_LANE) == 0
    assert outbox_deliver(message_id=messages[0].pk) is None
    assert mail.outbox == []
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {"held"}


def test_hold_leaves_other_batches_and_sent_messages_alone():
    mine = _wave(2)
    other = _wave(2, batch="bd-2-outreach")
    OutboundMessage.objects.filter(pk=mine[0].pk).update(state=OutboundMessage.State.SENT)

    assert outbox_hold(batches=["bd-1-outreach"]) == 1

    assert OutboundMessage.objects.get(pk=mine[0].pk).state == "sent"
    assert {m.state for m in OutboundMessage.objects.filter(pk__in=[o.pk for o in other])} == {
        "queued"
    }


def test_release_requeues_held_messages_staggered_from_now(settings):
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 30}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _wave(3, start=timezone.now() - timedelta(hours=1))
    outbox_hold(batches=["bd-1-outreach"])
    later = timezone.now() + timedelta(minutes=10)

    assert outbox_release(batches=["bd-1-outreach"], now=later) == 3

    rows = list(OutboundMessage.objects.order_by("id"))
    assert [m.state for m in rows] == ["queued"] * 3
    assert [m.next_attempt_at for m in rows] == [
        later,
        later + timedelta(seconds=2),
        later + timedelta(seconds=4),
    ]
    assert lane_due(OUTBOX_LANE, now=later + timedelta(seconds=3)).count() == 2
    assert outbox_deliver(message_id=rows[0].pk) is None  # not yet: released for later


def test_the_lane_walks_the_pending_index_not_the_table():
    """A breakdown leaves 100,000 staggered rows waiting; each claim must not read them all."""
    from django.db import connection

    _wave(50, start=timezone.now() + timedelta(minutes=1))
    if connection.vendor == "postgresql":
        # The planner reads a table this small whole; the bench checks the plan
        # with 100,000 rows. Here: the index must at least be usable.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")

    plan = lane_due(OUTBOX_LANE, now=timezone.now()).values_list("pk", flat=True)[:1].explain()

    assert "outbox_pending_idx" in plan
