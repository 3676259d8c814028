"""Queueing and delivering outbound messages.

Rules for callers: call `outbox_enqueue` inside the transaction of the step the
message belongs to. Delivery happens later, in a task; never send directly.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from bounceback.background import enqueue_on_commit
from bounceback.errors import ValidationFailed
from bounceback.outbox.channels import DeliveryError, adapter_for
from bounceback.outbox.models import OutboundMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# A sender that died mid-send holds its lease this long before another retries.
LEASE = timedelta(minutes=5)
# How long the on-commit task has to pick a new message up before the sweep does.
PICKUP_GRACE = timedelta(seconds=60)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def new_message_id() -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "bounceback.local"
    return f"<{uuid.uuid4().hex}@{domain}>"


def outbox_enqueue(
    *,
    channel: str,
    to_address: str,
    body_text: str,
    subject: str = "",
    body_html: str = "",
    customer: Any = None,
    interaction: Any = None,
    reply_to: str = "",
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> OutboundMessage:
    if adapter_for(channel) is None:
        raise ValidationFailed(f"messages cannot be sent by {channel} yet", field="channel")
    if not to_address.strip():
        raise ValidationFailed(f"the customer has no {channel} address", field="to_address")
    if not body_text.strip():
        raise ValidationFailed("the message is empty", field="body")
    message = OutboundMessage.objects.create(
        channel=channel,
        customer=customer,
        interaction=interaction,
        to_address=to_address.strip(),
        subject=subject[:300],
        body_text=body_text,
        body_html=body_html,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        references=references,
        headers=headers or {},
        message_id=message_id or new_message_id(),
        next_attempt_at=timezone.now(),
        dispatched_at=timezone.now(),
    )
    from bounceback.outbox.tasks import deliver_message

    enqueue_on_commit(deliver_message, message.pk)
    return message


def _claim(message_id: int, now: datetime) -> OutboundMessage | None:
    """Take the message for sending, or None if it is not ours to send now."""
    with transaction.atomic():
        rows = OutboundMessage.objects.filter(pk=message_id)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        message = rows.first()
        if message is None:
            return None
        claimable = (
            message.state == OutboundMessage.State.QUEUED
            or (message.state == OutboundMessage.State.RETRYING and message.next_attempt_at <= now)
            or (
                message.state == OutboundMessage.State.SENDING
                and message.lease_until is not None
                and message.lease_until <= now
            )
        )
        if not claimable:
            return None
        message.state = OutboundMessage.State.SENDING
        message.attempts += 1
        message.lease_until = now + LEASE
        message.next_attempt_at = now + LEASE
        message.save(update_fields=["state", "attempts", "lease_until", "next_attempt_at"])
        return message


def outbox_deliver(*, message_id: int) -> OutboundMessage | None:
    """Send one message if it is due; safe to call any number of times.

    The claim commits before sending, so two workers never send the same
    message at once; the result commits right after, so only a worker killed
    between the mail server's acceptance and that commit can cause a resend,
    which then carries the same Message-ID for the receiving side to drop.
    """
    now = timezone.now()
    message = _claim(message_id, now)
    if message is None:
        return None
    adapter = adapter_for(message.channel)
    try:
        if adapter is None:
            raise DeliveryError(f"no adapter for {message.channel}", permanent=True)
        adapter.send(message)
    except DeliveryError as exc:
        message.last_error = str(exc)[:2000]
        message.lease_until = None
        if exc.permanent or message.attempts >= MAX_ATTEMPTS:
            message.state = OutboundMessage.State.FAILED
        else:
            message.state = OutboundMessage.State.RETRYING
            message.next_attempt_at = timezone.now() + backoff(message.attempts)
        logger.warning("outbox message %s not sent: %s", message.pk, exc)
        message.save(update_fields=["state", "last_error", "lease_until", "next_attempt_at"])
        return message
    message.state = OutboundMessage.State.SENT
    message.sent_at = timezone.now()
    message.lease_until = None
    message.last_error = ""
    message.save(update_fields=["state", "sent_at", "lease_until", "last_error"])
    return message


def outbox_sweep(*, now: datetime | None = None, batch: int = 500) -> int:
    """Hand overdue messages to workers: retries that fell due, lost pickups, dead leases.

    Marks each one dispatched first, so the next sweep does not hand out the
    same message again while its task is still waiting in the queue.
    """
    now = now or timezone.now()
    if not _due_ids(now=now, batch=1, lock=False):
        return 0
    with transaction.atomic():
        ids = _due_ids(now=now, batch=batch, lock=True)
        if not ids:
            return 0
        OutboundMessage.objects.filter(pk__in=ids).update(dispatched_at=now)
        from bounceback.outbox.tasks import deliver_message

        for message_id in ids:
            enqueue_on_commit(deliver_message, message_id)
    return len(ids)


# --- Waves: throttled, held and released messages ------------------------------------------

# A channel missing from BOUNCEBACK_OUTREACH_PER_MINUTE is sent at this rate.
DEFAULT_PER_MINUTE = 60


def outbox_interval(channel: str) -> timedelta:
    """The gap between two messages of a wave on `channel` at its configured rate."""
    rates = settings.BOUNCEBACK_OUTREACH_PER_MINUTE
    return timedelta(seconds=60 / rates.get(channel, DEFAULT_PER_MINUTE))


def outbox_first_slots(*, channels: list[str], now: datetime) -> dict[str, datetime]:
    """When the next wave message on each channel may go: after every wave message
    already waiting on it, so two waves at once still keep to the channel's rate."""
    slots = dict.fromkeys(channels, now)
    if not channels:
        return slots
    waiting = (
        OutboundMessage.objects.filter(
            state__in=[OutboundMessage.State.QUEUED, OutboundMessage.State.RETRYING],
            channel__in=channels,
            next_attempt_at__gt=now,
        )
        .exclude(batch="")
        .order_by()
        .values_list("channel")
        .annotate(last=Max("next_attempt_at"))
    )
    for channel, last in waiting:
        slots[channel] = max(now, last + outbox_interval(channel))
    return slots


def outbox_stagger(*, channels: list[str], now: datetime) -> list[datetime]:
    """One send time per message (in the order given), spaced at each channel's rate."""
    slots = outbox_first_slots(channels=sorted(set(channels)), now=now)
    steps = {channel: outbox_interval(channel) for channel in slots}
    times: list[datetime] = []
    for channel in channels:
        at = slots[channel]
        times.append(at)
        slots[channel] = at + steps[channel]
    return times


def outbox_hold(*, batches: list[str]) -> int:
    """Hold the batches' messages not yet being sent; the sweep and delivery leave HELD alone.

    A message already SENDING is past stopping and finishes. Call inside the
    caller's transaction.
    """
    return OutboundMessage.objects.filter(
        batch__in=batches,
        state__in=[OutboundMessage.State.QUEUED, OutboundMessage.State.RETRYING],
    ).update(state=OutboundMessage.State.HELD, dispatched_at=None, lease_until=None)


def outbox_release(*, batches: list[str], now: datetime | None = None) -> int:
    """Queue held messages again, staggered from now at each channel's rate, oldest first."""
    now = now or timezone.now()
    held = list(
        OutboundMessage.objects.filter(batch__in=batches, state=OutboundMessage.State.HELD)
        .order_by("id")
        .values_list("id", "channel")
    )
    if not held:
        return 0
    ids = [row[0] for row in held]
    times = outbox_stagger(channels=[row[1] for row in held], now=now)
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS m SET state = %s, next_attempt_at = u.at, "  # noqa: S608
                "dispatched_at = NULL FROM unnest(%s::bigint[], %s::timestamptz[]) AS u(id, at) "
                "WHERE m.id = u.id AND m.state = %s",
                [OutboundMessage.State.QUEUED, ids, times, OutboundMessage.State.HELD],
            )
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f"UPDATE {table} SET state = %s, next_attempt_at = %s, "  # noqa: S608
                "dispatched_at = NULL WHERE id = %s AND state = %s",
                [
                    (OutboundMessage.State.QUEUED, adapt(at), pk, OutboundMessage.State.HELD)
                    for pk, at in zip(ids, times, strict=True)
                ],
            )
    return len(ids)


# The partial index outbox_pending_idx covers exactly these states. They are
# written into the sweep's SQL as literals: SQLite uses a partial index only
# when the query's condition matches the index's text, never with bound
# parameters, and a breakdown's outreach leaves 100,000 rows waiting.
_PENDING_SQL = "state IN ('queued', 'retrying', 'sending')"


def outbox_due(*, now: datetime) -> QuerySet[OutboundMessage]:
    """Pending messages due by `now` and not handed out recently, oldest due first."""
    return (
        OutboundMessage.objects.extra(where=[_PENDING_SQL])  # noqa: S610 (constant SQL)
        .filter(next_attempt_at__lte=now)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=now - PICKUP_GRACE))
        .order_by("next_attempt_at")
    )


def _due_ids(*, now: datetime, batch: int, lock: bool) -> list[int]:
    due = outbox_due(now=now)
    if lock and connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    return list(due.values_list("pk", flat=True)[:batch])


def outbox_retry_now(*, message: OutboundMessage) -> OutboundMessage:
    """A person asks to try a failed or waiting message again straight away."""
    if message.state not in {OutboundMessage.State.FAILED, OutboundMessage.State.RETRYING}:
        raise ValidationFailed(f"a {message.get_state_display().lower()} message cannot be retried")
    with transaction.atomic():
        message.state = OutboundMessage.State.QUEUED
        message.next_attempt_at = message.dispatched_at = timezone.now()
        if message.attempts >= MAX_ATTEMPTS:
            message.attempts = MAX_ATTEMPTS - 1
        message.save(update_fields=["state", "next_attempt_at", "dispatched_at", "attempts"])
        from bounceback.outbox.tasks import deliver_message

        enqueue_on_commit(deliver_message, message.pk)
    return message
