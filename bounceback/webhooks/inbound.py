"""A provider's POST to /hooks/<slug>/: verify, map, and file the message on a case.

Order matters and is the contract in docs/channels.md: the channel must exist
and be active (404), the signature must verify (401) before the body is even
parsed, then the body must be JSON with every required mapped field (400).
A message id already stored from this channel answers "duplicate" and changes
nothing, so providers may retry freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bounceback.cases.models import Case
from bounceback.cases.services import case_log_customer_message, case_open
from bounceback.customers.models import Customer, CustomerExternalId, CustomerPhone
from bounceback.customers.services import (
    ExternalIdentity,
    customer_create,
    customer_update,
    email_normalise,
    phone_normalise,
)
from bounceback.errors import Conflict, NotFound, ServiceError, ValidationFailed
from bounceback.inputs import datetime_in_range, json_load_checked
from bounceback.interactions.models import Interaction
from bounceback.webhooks import signing
from bounceback.webhooks.models import REQUIRED_FIELDS, InboundChannel

SUMMARY_MAX = 80


class BadSignature(ServiceError):
    code = "bad_signature"
    status = 401


class BadPayload(ServiceError):
    code = "bad_request"
    status = 400


@dataclass(frozen=True)
class Received:
    duplicate: bool
    case: Case | None = None
    interaction_id: int | None = None
    signal_id: int | None = None


def channel_for(slug: str) -> InboundChannel:
    channel = InboundChannel.objects.filter(slug=slug, active=True).first()
    if channel is None:
        raise NotFound(f"no active channel {slug!r}", field="slug")
    return channel


def verify(
    *, channel: InboundChannel, body: bytes, timestamp: str | None, signature: str | None
) -> None:
    tolerance = settings.BOUNCEBACK_WEBHOOK_SIGNATURE_TOLERANCE
    problem = signing.signature_problem(
        secret=channel.secret,
        timestamp=timestamp,
        signature=signature,
        body=body,
        tolerance=tolerance,
    )
    grace = channel.previous_secret_until
    if problem and channel.previous_secret and grace and grace > timezone.now():
        old = signing.signature_problem(
            secret=channel.previous_secret,
            timestamp=timestamp,
            signature=signature,
            body=body,
            tolerance=tolerance,
        )
        problem = problem if old else None
    if problem:
        header = signing.TIMESTAMP_HEADER if "Timestamp" in problem else signing.SIGNATURE_HEADER
        raise BadSignature(problem, field=header)


def dig(document: Any, path: str) -> Any:
    """Follow a dotted path (keys, or list indexes as numbers); None where it leads nowhere."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
        if current is None:
            return None
    return current


def _scalar(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip()


def _timestamp(raw: Any) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        at = _timestamp_value(raw)
    except (OverflowError, OSError, ValueError):
        # Out of range, an impossible calendar date, digits float() refuses.
        at = None
    if at is None:
        raise BadPayload(f"{raw!r} is not a unix time or ISO 8601 date", field="timestamp")
    try:
        at = datetime_in_range(at, field="timestamp")
    except ValidationFailed as refused:
        raise BadPayload(refused.message, field="timestamp") from None
    # A provider's clock running ahead must not put a message in our future.
    return min(at, timezone.now())


def _timestamp_value(raw: Any) -> datetime | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # Milliseconds are common (JavaScript clocks); no message is from 1970.
        seconds = raw / 1000 if raw > 10**11 else raw
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(raw, str):
        text = raw.strip()
        if text.replace(".", "", 1).isdigit():
            return _timestamp_value(float(text))
        at = parse_datetime(text)
        if at is not None and timezone.is_naive(at):
            at = timezone.make_aware(at, UTC)
        return at
    return None


@dataclass(frozen=True)
class Message:
    message_id: str
    sender_id: str
    sender_name: str
    sender_phone: str
    sender_email: str
    text: str
    thread_id: str
    occurred_at: datetime | None


def parse(*, channel: InboundChannel, body: bytes) -> Message:
    try:
        document = json_load_checked(body.decode("utf-8"), field="body")
    except ValidationFailed as refused:  # nested too deeply, text no database stores
        raise BadPayload(refused.message, field=refused.field) from None
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError, and numbers too long to read
        raise BadPayload("the body is not JSON (UTF-8)", field="body") from None
    if not isinstance(document, dict):
        raise BadPayload("the body must be a JSON object", field="body")
    mapping = channel.effective_mapping()
    values = {key: _scalar(dig(document, path)) for key, path in mapping.items()}
    for key in REQUIRED_FIELDS:
        if not values[key]:
            raise BadPayload(
                f"{key} is missing: nothing at {mapping[key]!r} in the body", field=key
            )
    if len(values["message_id"]) > 300:
        raise BadPayload("message_id is longer than 300 characters", field="message_id")
    if len(values["sender_id"]) > 200:
        raise BadPayload("sender_id is longer than 200 characters", field="sender_id")
    return Message(
        message_id=values["message_id"],
        sender_id=values["sender_id"],
        sender_name=values["sender_name"][:200],
        sender_phone=values["sender_phone"],
        sender_email=values["sender_email"],
        text=values["text"],
        # Without a conversation id, everything one sender writes is one conversation.
        thread_id=(values["thread_id"] or values["sender_id"])[:200],
        occurred_at=_timestamp(dig(document, mapping["timestamp"])),
    )


# A bad optional detail (a malformed phone or address) must not cost us the
# customer's message: it is left out instead.
def _phone(value: str) -> str:
    try:
        return phone_normalise(number=value) if value else ""
    except ValidationFailed:
        return ""


def _email(value: str) -> str:
    try:
        return email_normalise(address=value) if value else ""
    except ValidationFailed:
        return ""


def _customer(channel: InboundChannel, message: Message) -> Customer:
    """Found by this channel's sender id, else by phone (SMS), else by email; else created."""
    source = channel.source
    known = (
        CustomerExternalId.objects.filter(source=source, external_id=message.sender_id)
        .select_related("customer")
        .first()
    )
    if known is not None:
        return known.customer
    # Only what the provider vouches for identifies a customer: its sender id,
    # and for SMS the number the text came from. A phone or email typed into a
    # chat widget is not proof; matching on it would hand a stranger someone
    # else's conversation (and our replies), so it goes into the notes only.
    phone = _phone(message.sender_id) if channel.kind == InboundChannel.Kind.SMS else ""
    email = _email(message.sender_email)
    typed_phone = _phone(message.sender_phone) if not phone else ""
    customer = None
    if phone:
        row = CustomerPhone.objects.filter(number=phone).select_related("customer").first()
        customer = row.customer if row else None
    identity = ExternalIdentity(source=source, external_id=message.sender_id)
    if customer is not None:
        existing = [
            ExternalIdentity(source=e.source, external_id=e.external_id)
            for e in customer.external_ids.all()
        ]
        return customer_update(customer=customer, external_ids=[*existing, identity])
    name = message.sender_name or phone or f"{channel.name} {message.sender_id}"
    given = [
        f"{label} given on {channel.name}: {value}"
        for label, value in (("Email", email), ("Phone", typed_phone))
        if value
    ]
    return customer_create(
        name=name[:200],
        phones=[phone] if phone else [],
        external_ids=[identity],
        preferred_channel=channel.kind,
        notes="\n".join(given),
    )


def _open_case(channel: InboundChannel, customer: Customer, thread_id: str) -> Case | None:
    """The case an earlier message of this conversation went to, if it is still open."""
    earlier = (
        Interaction.objects.filter(
            customer=customer,
            source=channel.source,
            direction=Interaction.Direction.INBOUND,
            metadata__thread=thread_id,
            case__isnull=False,
        )
        .exclude(case__status=Case.Status.CLOSED)
        .order_by("-occurred_at", "-id")
        .select_related("case")
        .first()
    )
    return earlier.case if earlier is not None else None


def _summary(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_MAX else line[: SUMMARY_MAX - 1].rstrip() + "…"


def _receive_signal(channel: InboundChannel, message: Message) -> Received:
    """Record the provider's post as a signal (a mention or a message), once."""
    from bounceback.signals.models import Signal
    from bounceback.signals.services import signals_record_many

    if Signal.objects.filter(source=channel.source, external_id=message.message_id).exists():
        return Received(duplicate=True)
    with transaction.atomic():
        customer = _customer(channel, message)
        result = signals_record_many(
            items=[
                {
                    "source": channel.source,
                    "external_id": message.message_id,
                    "kind": "mention" if channel.kind == InboundChannel.Kind.SOCIAL else "message",
                    "occurred_at": message.occurred_at or timezone.now(),
                    "customer_id": customer.pk,
                    "channel": channel.kind,
                    "author": message.sender_name or message.sender_id,
                    "text": message.text,
                    "attributes": {"thread": message.thread_id, "channel": channel.slug},
                }
            ]
        )
    if result.errors:
        error = result.errors[0]
        raise BadPayload(error.message, field=error.field)
    signal_id, outcome = result.stored[0]
    return Received(duplicate=outcome == "unchanged", signal_id=signal_id)


def inbound_receive(*, channel: InboundChannel, body: bytes) -> Received:
    """File one verified message: on the conversation's open case, or on a new case."""
    message = parse(channel=channel, body=body)
    source = channel.source
    if channel.delivers == "signals":
        return _receive_signal(channel, message)
    if Interaction.objects.filter(source=source, external_id=message.message_id).exists():
        return Received(duplicate=True)
    metadata = {
        "sender": message.sender_id,
        "thread": message.thread_id,
        "channel": channel.slug,
    }
    if message.sender_name:
        metadata["sender_name"] = message.sender_name
    try:
        with transaction.atomic():
            customer = _customer(channel, message)
            case = _open_case(channel, customer, message.thread_id)
            if case is None:
                case = case_open(
                    customer=customer,
                    summary=_summary(message.text) or f"Message by {channel.kind}",
                    description=message.text,
                    channel=channel.kind,
                    actor=None,
                    opened_at=message.occurred_at,
                )
            case_log_customer_message(
                case=case,
                actor=None,
                body=message.text,
                channel=channel.kind,
                occurred_at=message.occurred_at,
                source=source,
                external_id=message.message_id,
                metadata=metadata,
            )
    except Conflict as exc:
        # The same message arriving twice at once: the second loses the race
        # on the unique (source, external_id) and everything it wrote rolls back.
        if exc.code == "duplicate" and exc.field == "external_id":
            return Received(duplicate=True)
        raise
    except IntegrityError:
        if Interaction.objects.filter(source=source, external_id=message.message_id).exists():
            return Received(duplicate=True)
        raise
    interaction_id = (
        Interaction.objects.filter(source=source, external_id=message.message_id)
        .values_list("pk", flat=True)
        .first()
    )
    return Received(duplicate=False, case=case, interaction_id=interaction_id)
