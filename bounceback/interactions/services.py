from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.bulk import bulk_insert
from bounceback.changes import changes_apply
from bounceback.customers.models import Channel, Customer
from bounceback.errors import Conflict, ValidationFailed
from bounceback.inputs import datetime_in_range
from bounceback.interactions.models import Interaction

if TYPE_CHECKING:
    from bounceback.cases.models import Case

BODY_MAX = 100_000


def interaction_check(
    *, channel: str, direction: str, body: str, occurred_at: datetime | None
) -> None:
    """Refuse (ValidationFailed, with the field) what interaction_log would not store."""
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
        datetime_in_range(occurred_at, field="occurred_at")
        if occurred_at > timezone.now() + timedelta(minutes=5):
            raise ValidationFailed("occurred_at is in the future", field="occurred_at")


def interaction_log(
    *,
    customer: Customer,
    channel: str,
    direction: str,
    body: str,
    author: ActorLike = None,
    author_name: str = "",
    subject: str = "",
    occurred_at: datetime | None = None,
    thread_ref: str = "",
    source: str = "staff",
    external_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    case: Case | None = None,
) -> Interaction:
    """Record a message or contact on the customer's timeline.

    Refuses (ValidationFailed, with the field) an unknown channel or direction,
    an empty or over-long body or subject, a naive or future time; a second
    interaction with the same source and external id is a Conflict.
    """
    interaction_check(channel=channel, direction=direction, body=body, occurred_at=occurred_at)
    if len(subject) > 300:
        raise ValidationFailed("the subject is longer than 300 characters", field="subject")
    who = actor_of(author)
    if not author_name:
        if direction == Interaction.Direction.INBOUND:
            author_name = customer.name
        elif who.kind != "system":
            author_name = who.label
    negativity = None
    if direction == Interaction.Direction.INBOUND:
        from bounceback.discovery.negativity import score

        negativity = score(body)
    try:
        with transaction.atomic():
            interaction = Interaction.objects.create(
                negativity=negativity,
                customer=customer,
                case=case,
                channel=channel,
                direction=direction,
                author=who.user,
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
    if direction == Interaction.Direction.INBOUND:
        for hook in _inbound_hooks:
            hook(interaction)
    return interaction


# Other apps' interest in customers' messages (discovery's rules), registered from
# their apps.py: called in the logging transaction, writing rows only.
_inbound_hooks: list[Callable[[Interaction], None]] = []


def interaction_inbound_register(hook: Callable[[Interaction], None]) -> None:
    """Call `hook(interaction)` for every inbound message interaction_log stores."""
    if hook not in _inbound_hooks:
        _inbound_hooks.append(hook)


@dataclass(frozen=True)
class NewMessage:
    """One outbound message of a set-based write (see interactions_log_many)."""

    customer_id: int
    case_id: int | None
    channel: str
    subject: str
    body: str
    thread_ref: str


def interactions_log_many(
    *,
    messages: Sequence[NewMessage],
    author: ActorLike,
    occurred_at: datetime,
    metadata: dict[str, Any],
    ids: Sequence[int] | None = None,
) -> None:
    """interaction_log for many outbound messages at once (a breakdown's wave), set-based.

    Writes the rows interaction_log writes for an outbound staff message with
    source "bounceback"; `ids` are allocated by the caller (bulk.allocate_ids)
    when it needs them before the insert. Values must be checked by the caller:
    subjects and bodies come from checked templates.
    """
    if not messages:
        return
    who = actor_of(author)
    varying: dict[str, list[Any]] = {
        "customer_id": [m.customer_id for m in messages],
        "case_id": [m.case_id for m in messages],
        "channel": [m.channel for m in messages],
        "subject": [m.subject.strip() for m in messages],
        "body": [m.body.strip() for m in messages],
        "thread_ref": [m.thread_ref[:300] for m in messages],
    }
    if ids is not None:
        varying["id"] = list(ids)
    bulk_insert(
        Interaction,
        varying=varying,
        constant={
            "direction": Interaction.Direction.OUTBOUND,
            "author_id": who.user.pk if who.user is not None else None,
            "author_name": (who.label if who.kind != "system" else "")[:200],
            "occurred_at": occurred_at,
            "source": "bounceback",
            "external_id": None,
            "metadata": metadata,
        },
        now=occurred_at,
    )


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
    changes_apply(interaction, changes, touch=())
    return interaction
