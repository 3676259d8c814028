from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bounceback.customers.models import Channel, Customer
from bounceback.errors import Conflict, ValidationFailed
from bounceback.interactions.models import Interaction

BODY_MAX = 100_000


def interaction_check(
    *, channel: str, direction: str, body: str, occurred_at: datetime | None
) -> None:
    if channel not in Channel.values:
        raise ValidationFailed(
            f"channel must be one of {', '.join(Channel.values)}, not {channel!r}", field="channel"
        )
    if direction not in Interaction.Direction.values:
        raise ValidationFailed(
            f"direction must be one of {', '.join(Interaction.Direction.values)}, "
            f"not {direction!r}",
            field="direction",
        )
    if not body.strip():
        raise ValidationFailed("the message body is empty", field="body")
    if len(body) > BODY_MAX:
        raise ValidationFailed(f"the body is longer than {BODY_MAX} characters", field="body")
    if occurred_at is not None:
        if timezone.is_naive(occurred_at):
            raise ValidationFailed("occurred_at needs a time zone", field="occurred_at")
        if occurred_at > timezone.now() + timedelta(minutes=5):
            raise ValidationFailed("occurred_at is in the future", field="occurred_at")


def interaction_log(
    *,
    customer: Customer,
    channel: str,
    direction: str,
    body: str,
    author: Any = None,
    author_name: str = "",
    subject: str = "",
    occurred_at: datetime | None = None,
    thread_ref: str = "",
    source: str = "staff",
    external_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    case: Any = None,
) -> Interaction:
    """Record a message or contact on the customer's timeline."""
    interaction_check(channel=channel, direction=direction, body=body, occurred_at=occurred_at)
    if len(subject) > 300:
        raise ValidationFailed("the subject is longer than 300 characters", field="subject")
    if not author_name:
        if direction == Interaction.Direction.INBOUND:
            author_name = customer.name
        elif author is not None:
            author_name = str(author)
    try:
        with transaction.atomic():
            return Interaction.objects.create(
                customer=customer,
                case=case,
                channel=channel,
                direction=direction,
                author=author if getattr(author, "is_authenticated", False) else None,
                author_name=author_name[:200],
                subject=subject.strip(),
                body=body.strip(),
                occurred_at=occurred_at or timezone.now(),
                thread_ref=thread_ref[:300],
                source=source[:60] or "staff",
                external_id=external_id or None,
                metadata=metadata or {},
            )
    except IntegrityError:
        raise Conflict(
            f"an interaction from {source} with external id {external_id!r} is already stored",
            field="external_id",
            code="duplicate",
        ) from None


_UPDATABLE = {"subject", "body", "thread_ref", "metadata"}


def interaction_update(*, interaction: Interaction, changes: dict[str, Any]) -> Interaction:
    """Correct a logged interaction's text; who, when and which channel stay as recorded."""
    refused = sorted(set(changes) - _UPDATABLE)
    if refused:
        raise ValidationFailed(f"{refused[0]} cannot be changed", field=refused[0])
    if "body" in changes:
        interaction_check(
            channel=interaction.channel,
            direction=interaction.direction,
            body=changes["body"],
            occurred_at=None,
        )
        changes["body"] = changes["body"].strip()
    for name, value in changes.items():
        setattr(interaction, name, value)
    interaction.save(update_fields=list(changes))
    return interaction
