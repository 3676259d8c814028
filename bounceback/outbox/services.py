"""Queueing and delivering outbound messages.

Rules for callers: call `outbox_enqueue` inside the transaction of the step the
message belongs to. Delivery happens later, in a worker's delivery lane
(`OUTBOX_LANE`, see `bounceback.background.deliveries`); never send directly.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from bounceback.actors import ActorLike
from bounceback.background import leases
from bounceback.background.deliveries import (
    SLOT_HORIZON,
    FailedDelivery,
    Lane,
    backoff,
    lane_claim_waiting,
    lane_record,
    lane_release,
    lane_send_claimed,
    window_note,
)
from bounceback.bulk import bulk_insert
from bounceback.errors import NotFound, ValidationFailed
from bounceback.inputs import placeholders_refuse
from bounceback.outbox.channels import DeliveryError, adapter_for
from bounceback.outbox.models import ChannelStatus, OutboundMessage

if TYPE_CHECKING:
    from bounceback.customers.models import Customer
    from bounceback.interactions.models import Interaction

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def new_message_id() -> str:
    """A fresh, unguessable Message-ID in our own domain."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "bounceback.local"
    return f"<{uuid.uuid4().hex}@{domain}>"


def _outbox_check(*, channel: str, to_address: str, body_text: str, subject: str = "") -> None:
    if adapter_for(channel) is None:
        raise ValidationFailed(f"messages cannot be sent by {channel} yet", field="channel")
    if not to_address.strip():
        raise ValidationFailed(f"the customer has no {channel} address", field="to_address")
    if not body_text.strip():
        raise ValidationFailed("the message is empty", field="body")
    _refuse_unfilled(subject=subject, body_text=body_text)


def _refuse_unfilled(*, subject: str, body_text: str) -> None:
    # The last gate before a customer reads it: whatever wrote the text, a
    # placeholder still in it would be sent raw ("Dear {{ customer.first_name }}").
    # Templates are checked where they are saved; this catches the rest.
    if "{" in subject:
        placeholders_refuse(subject, field="subject")
    if "{" in body_text:
        placeholders_refuse(body_text, field="body")


def outbox_enqueue(
    *,
    channel: str,
    to_address: str,
    body_text: str,
    subject: str = "",
    body_html: str = "",
    customer: Customer | None = None,
    interaction: Interaction | None = None,
    reply_to: str = "",
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    send_at: datetime | None = None,
    batch: str = "",
    held: bool = False,
) -> OutboundMessage:
    """Write a message for the delivery lanes to send once it commits (at `send_at`, or now).

    A message of a wave names its `batch` (held ones wait for the wave to be
    released). A message to a drill's synthetic customer is written captured:
    shown as what would have gone out, never claimed by a lane. Refuses a
    channel nothing can deliver, an empty address or body.
    """
    _outbox_check(channel=channel, to_address=to_address, body_text=body_text, subject=subject)
    state = OutboundMessage.State.HELD if held else OutboundMessage.State.QUEUED
    if customer is not None and customer.drill_id is not None:
        state = OutboundMessage.State.CAPTURED
    return OutboundMessage.objects.create(
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
        next_attempt_at=send_at or timezone.now(),
        batch=batch,
        state=state,
    )


@dataclass(frozen=True)
class NewOutboundMessage:
    """One message of a set-based write (see outbox_enqueue_many)."""

    channel: str
    customer_id: int
    interaction_id: int
    to_address: str
    subject: str
    body_text: str
    headers: dict[str, str]
    send_at: datetime


def outbox_enqueue_many(
    *,
    messages: Sequence[NewOutboundMessage],
    batch: str,
    held: bool,
    now: datetime,
    ids: Sequence[int] | None = None,
) -> None:
    """outbox_enqueue for a wave of messages, set-based: the rows outbox_enqueue writes.

    The caller has chosen channels that can deliver and addresses that exist
    (the checks outbox_enqueue makes per message are the caller's here).
    """
    if not messages:
        return
    for message in messages:
        _refuse_unfilled(subject=message.subject, body_text=message.body_text)
    varying: dict[str, list[Any]] = {
        "channel": [m.channel for m in messages],
        "customer_id": [m.customer_id for m in messages],
        "interaction_id": [m.interaction_id for m in messages],
        "to_address": [m.to_address.strip() for m in messages],
        "subject": [m.subject[:300] for m in messages],
        "body_text": [m.body_text for m in messages],
        "message_id": [new_message_id() for _ in messages],
        "headers": [m.headers for m in messages],
        "next_attempt_at": [m.send_at for m in messages],
    }
    if ids is not None:
        varying["id"] = list(ids)
    bulk_insert(
        OutboundMessage,
        varying=varying,
        constant={
            "batch": batch,
            "state": OutboundMessage.State.HELD if held else OutboundMessage.State.QUEUED,
            "attempts": 0,
            "lease_owner": "",
        },
        now=now,
    )


# --- Delivering: the outbox lane of bounceback.background.deliveries --------------------------


class ChannelRateThrottle:
    """Each channel's messages leave at most at its rate (BOUNCEBACK_OUTREACH_PER_MINUTE).

    A wave's messages are already spaced at the rate when written; this holds
    the rate for everything else too: retries that fall due together after an
    outage, two waves at once, and however many workers claim side by side.
    A claim books the channel's send times for the next moment on its
    ChannelStatus row (locked, then moved on), and the lane sends each message
    at its time.
    """

    def channel_of(self, row: OutboundMessage) -> str:
        return row.channel

    def slots(self, channel: str, wanted: int, now: datetime) -> list[datetime]:
        step = outbox_interval(channel)
        status = ChannelStatus.objects.select_for_update().filter(channel=channel).first()
        if status is None:
            status, _ = ChannelStatus.objects.get_or_create(
                channel=channel, defaults={"next_at": now}
            )
        first = max(status.next_at, now)
        horizon = now + SLOT_HORIZON
        if first > horizon:
            return []
        count = min(wanted, 1 + int((horizon - first) / step))
        times = [first + i * step for i in range(count)]
        ChannelStatus.objects.filter(channel=channel).update(next_at=times[-1] + step)
        return times

    def next_free(self, now: datetime) -> float | None:
        soonest = (
            ChannelStatus.objects.filter(next_at__gt=now + SLOT_HORIZON)
            .order_by("next_at")
            .values_list("next_at", flat=True)
            .first()
        )
        if soonest is None:
            return None
        return max((soonest - SLOT_HORIZON - now).total_seconds(), 0.0)


# Channels this process saw failing: a success on one of them clears the
# ChannelStatus mark (an UPDATE on every success would serialise SQLite writers).
_failing: set[str] = set()


def _note_channel(channel: str, *, error: DeliveryError | None) -> None:
    """Keep ChannelStatus's health current: failing since when, or working again."""
    now = timezone.now()
    rows = ChannelStatus.objects.filter(channel=channel)
    if error is None:
        if channel in _failing:
            rows.exclude(failing_since=None).update(failing_since=None, last_error="")
            _failing.discard(channel)
        return
    _failing.add(channel)
    if not rows.filter(failing_since=None).update(failing_since=now, last_error=str(error)[:500]):
        rows.update(last_error=str(error)[:500])


def _record_sent(message_id: int, accepted: float, channel: str) -> None:
    def write() -> None:
        now = timezone.now()
        done = {
            "state": OutboundMessage.State.SENT,
            "sent_at": now,
            "lease_until": None,
            "lease_owner": "",
            "last_error": "",
        }
        rows = OutboundMessage.objects.filter(pk=message_id)
        if not rows.filter(lease_owner=leases.owner_id()).update(**done):
            # Someone took the message over while we were cut off: it was sent
            # all the same, and saying so stops a later attempt.
            rows.exclude(state=OutboundMessage.State.SENT).update(**done)

    lane_record(write, what=f"outbox message {message_id} as sent")
    window_note(time.monotonic() - accepted)
    _note_channel(channel, error=None)


def _record_failure(message: OutboundMessage, error: DeliveryError) -> None:
    now = timezone.now()
    failed = error.permanent or message.attempts >= MAX_ATTEMPTS
    changes: dict[str, Any] = {
        "last_error": str(error)[:2000],
        "lease_until": None,
        "lease_owner": "",
        "state": OutboundMessage.State.FAILED if failed else OutboundMessage.State.RETRYING,
        "next_attempt_at": now if failed else now + backoff(message.attempts),
    }
    logger.warning("outbox message %s not sent: %s", message.pk, error)
    lane_record(
        lambda: OutboundMessage.objects.filter(pk=message.pk, lease_owner=leases.owner_id()).update(
            **changes
        ),
        what=f"outbox message {message.pk}'s failure",
    )
    for field, value in changes.items():
        setattr(message, field, value)
    if not error.permanent:
        _note_channel(message.channel, error=error)


def outbox_send(message_id: int) -> OutboundMessage:
    """Send one message this process has claimed, and write the outcome at once.

    The sent state commits right after the other side accepted the message, so
    only a worker killed inside that window causes a resend, which then
    carries the same Message-ID for the receiving side to drop.
    """
    message = OutboundMessage.objects.select_related("customer").get(pk=message_id)
    if message.customer is not None and message.customer.drill_id is not None:
        # The sandbox's last gate: a drill's message reached a lane some other
        # way (a set-based wave): keep it as captured, send nothing.
        try:
            OutboundMessage.objects.filter(pk=message.pk).update(
                state=OutboundMessage.State.CAPTURED, lease_owner="", lease_until=None
            )
        finally:
            lane_release(OUTBOX_LANE, message.pk)
        message.refresh_from_db()
        return message
    try:
        adapter = adapter_for(message.channel)
        try:
            if adapter is None:
                raise DeliveryError(f"no adapter for {message.channel}", permanent=True)
            adapter.send(message)
        except DeliveryError as exc:
            _record_failure(message, exc)
            return message
        _record_sent(message.pk, accepted=time.monotonic(), channel=message.channel)
    finally:
        lane_release(OUTBOX_LANE, message.pk)
    message.refresh_from_db()
    return message


def outbox_deliver(*, message_id: int) -> OutboundMessage | None:
    """Send this one message now if it is due and nobody holds it; None otherwise.

    Safe to call any number of times; the delivery lanes do the same for
    every due message.
    """
    claim = lane_claim_waiting(OUTBOX_LANE, only_pk=message_id)
    if not claim.pks:
        return None
    lane_send_claimed(OUTBOX_LANE, claim)
    return OutboundMessage.objects.get(pk=message_id)


# The partial index outbox_pending_idx covers exactly these states. They are
# written into the lane's SQL as literals: SQLite uses a partial index only
# when the query's condition matches the index's text, never with bound
# parameters, and a breakdown's outreach leaves 100,000 rows waiting.
_PENDING_SQL = "state IN ('queued', 'retrying', 'sending')"


def outbox_describe_failure(message: OutboundMessage) -> FailedDelivery:
    """A failed message as the failed-deliveries page shows it (links to its case)."""
    case_id = message.interaction.case_id if message.interaction else None
    if case_id is not None:
        link = f"/cases/{case_id}/#event-{message.interaction_id}"
    elif message.customer_id is not None:
        link = f"/customers/{message.customer_id}/"
    else:
        link = ""
    return FailedDelivery(
        lane="outbox",
        id=message.pk,
        what=f"{message.get_channel_display()}: {message.subject or message.body_text[:80]}",
        to=message.to_address,
        error=message.last_error,
        attempts=message.attempts,
        failed_at=message.next_attempt_at,
        link=link,
    )


def outbox_retry(*, pk: int, actor: ActorLike = None) -> OutboundMessage:
    """Try a failed or waiting message again now (see outbox_retry_now)."""
    message = OutboundMessage.objects.filter(pk=pk).first()
    if message is None:
        raise NotFound("no such message")
    return outbox_retry_now(message=message)


OUTBOX_LANE = Lane(
    name="outbox",
    label="Messages to customers",
    model=OutboundMessage,
    waiting=(OutboundMessage.State.QUEUED, OutboundMessage.State.RETRYING),
    active=OutboundMessage.State.SENDING,
    failed=OutboundMessage.State.FAILED,
    pending_sql=_PENDING_SQL,
    send=outbox_send,
    describe=outbox_describe_failure,
    retry=outbox_retry,
    related=("interaction",),
    throttle=ChannelRateThrottle(),
    threads=2,
)


def outbox_lapsed(*, batch: str, before: datetime) -> bool:
    """Whether any message of the batch fell due before `before` and is still not sent
    (nobody is sending); read through the pending index, so it stays cheap during a wave."""
    return (
        OutboundMessage.objects.extra(where=[_PENDING_SQL])  # noqa: S610 (constant SQL)
        .filter(next_attempt_at__lt=before, batch=batch)
        .exists()
    )


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
    ).update(state=OutboundMessage.State.HELD, lease_until=None, lease_owner="")


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
                f"UPDATE {table} AS m SET state = %s, next_attempt_at = u.at "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS u(id, at) "
                "WHERE m.id = u.id AND m.state = %s",
                [OutboundMessage.State.QUEUED, ids, times, OutboundMessage.State.HELD],
            )
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f"UPDATE {table} SET state = %s, next_attempt_at = %s "  # noqa: S608
                "WHERE id = %s AND state = %s",
                [
                    (OutboundMessage.State.QUEUED, adapt(at), pk, OutboundMessage.State.HELD)
                    for pk, at in zip(ids, times, strict=True)
                ],
            )
    return len(ids)


def outbox_retry_now(*, message: OutboundMessage) -> OutboundMessage:
    """A person asks to try a failed or waiting message again straight away."""
    if message.state not in {OutboundMessage.State.FAILED, OutboundMessage.State.RETRYING}:
        raise ValidationFailed(f"a {message.get_state_display().lower()} message cannot be retried")
    message.state = OutboundMessage.State.QUEUED
    message.next_attempt_at = timezone.now()
    if message.attempts >= MAX_ATTEMPTS:
        message.attempts = MAX_ATTEMPTS - 1
    updated = OutboundMessage.objects.filter(
        pk=message.pk, state__in=[OutboundMessage.State.FAILED, OutboundMessage.State.RETRYING]
    ).update(
        state=message.state, next_attempt_at=message.next_attempt_at, attempts=message.attempts
    )
    if not updated:
        raise ValidationFailed("the message is being sent already")
    return message
