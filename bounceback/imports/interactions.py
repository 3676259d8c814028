"""Past conversations from another system: `bounceback import interactions FILE.csv`.

Each row is one message: who wrote it (the customer, or staff), when, the text,
and which message it answers. Replies join the conversation of the message
they answer, so first response times (bounceback.dashboards) cover the
business's history too. A conversation is the file's `thread` column when it
has one; otherwise a message starts its own and the rows that answer it (the
`reply_to` column, the other system's id of that message) join it.

Rows are stored through `interaction_log`, one savepoint each inside chunked
transactions, like complaints: a rejected row changes nothing, and importing
the file again finds every row already stored (by source and external id)
and changes nothing either.
"""

from __future__ import annotations

from typing import Any

from bounceback.customers.models import Channel
from bounceback.errors import ValidationFailed
from bounceback.imports.services import _case_channel, _CaseRows, _optional, _Row
from bounceback.inputs import text_field
from bounceback.interactions.models import Interaction

INTERACTION_FIELDS = (
    "external_id",
    "occurred_at",
    "direction",
    "body",
    "subject",
    "channel",
    "author",
    "thread",
    "reply_to",
    "case",
    "customer_name",
    "customer_email",
    "customer_phone",
    "customer_external_id",
)
ALIASES = {
    "id": "external_id",
    "message_id": "external_id",
    "date": "occurred_at",
    "time": "occurred_at",
    "sent_at": "occurred_at",
    "created_at": "occurred_at",
    "text": "body",
    "message": "body",
    "from": "author",
    "author_name": "author",
    "conversation": "thread",
    "conversation_id": "thread",
    "ticket_id": "thread",
    "in_reply_to": "reply_to",
    "answers": "reply_to",
    "parent_id": "reply_to",
    "email": "customer_email",
    "name": "customer_name",
}
_DIRECTIONS = {
    "inbound": Interaction.Direction.INBOUND,
    "in": Interaction.Direction.INBOUND,
    "incoming": Interaction.Direction.INBOUND,
    "received": Interaction.Direction.INBOUND,
    "customer": Interaction.Direction.INBOUND,
    "from customer": Interaction.Direction.INBOUND,
    "end-user": Interaction.Direction.INBOUND,
    "outbound": Interaction.Direction.OUTBOUND,
    "out": Interaction.Direction.OUTBOUND,
    "outgoing": Interaction.Direction.OUTBOUND,
    "sent": Interaction.Direction.OUTBOUND,
    "reply": Interaction.Direction.OUTBOUND,
    "staff": Interaction.Direction.OUTBOUND,
    "agent": Interaction.Direction.OUTBOUND,
    "to customer": Interaction.Direction.OUTBOUND,
    "internal": Interaction.Direction.INTERNAL,
    "note": Interaction.Direction.INTERNAL,
    "private": Interaction.Direction.INTERNAL,
}


def direction_read(cell: str) -> str:
    word = " ".join(cell.strip().lower().replace("_", " ").split())
    if word in _DIRECTIONS:
        return _DIRECTIONS[word]
    raise ValidationFailed(
        f"direction {cell!r} is not one of inbound (from the customer), outbound (to the "
        "customer) or internal",
        field="direction",
    )


def required(present: set[str]) -> list[tuple[str, str]]:
    """(what is missing, how to fix it) for a file whose columns cannot make messages."""
    missing = []
    for name in ("external_id", "occurred_at", "direction", "body"):
        if name not in present:
            hint = (
                " (the message's id in the other system: it is what lets a reply name the "
                "message it answers, and a re-import find what it stored)"
                if name == "external_id"
                else ""
            )
            missing.append((name, f"map yours with --map 'COLUMN={name}'{hint}"))
    if not present & {"customer_email", "customer_external_id", "case"}:
        missing.append(
            ("the customer", "add customer_email, customer_external_id or case (a case reference)")
        )
    return missing


class InteractionRows(_CaseRows):
    """Messages of past conversations, one savepoint per row inside chunked transactions."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The other system's message id -> the conversation it opened or joined.
        self.threads: dict[str, str] = {}
        # A conversation's customer, so a reply that names nobody joins theirs.
        self.customers: dict[str, Any] = {}

    def _thread_of(self, external_id: str, thread: str, reply_to: str) -> str:
        if thread:
            return f"{self.source}:{thread}"
        if reply_to:
            known = self.threads.get(reply_to)
            if known is None:
                known = (
                    Interaction.objects.filter(source=self.source, external_id=reply_to)
                    .values_list("thread_ref", flat=True)
                    .first()
                )
            if known is None:
                raise ValidationFailed(
                    f"reply_to {reply_to!r} names no message in this file before this row or "
                    "stored from this source",
                    field="reply_to",
                )
            return known
        return f"{self.source}:{external_id}"

    def _case(self, cell: str) -> Any:
        from django.db.models import Q

        from bounceback.cases.models import Case

        found = (
            Case.objects.filter(
                Q(reference=cell) | Q(external_source=self.source, external_id=cell)
            )
            .select_related("customer")
            .first()
        )
        if found is None:
            raise ValidationFailed(
                f"no case {cell!r} (a reference, or an imported case's id)", field="case"
            )
        return found

    def store(self, row: _Row) -> str:
        from bounceback.accounts.models import User
        from bounceback.interactions.services import interaction_log

        v = row.values
        external_id = _optional(v.get("external_id"), field="external_id", max_length=300)
        if not external_id:
            raise ValidationFailed("external_id is required", field="external_id")
        if (external_id, "") in self.seen:
            raise ValidationFailed(
                f"external_id {external_id!r} is also on line {self.seen[(external_id, '')]}",
                field="external_id",
                code="duplicate_in_file",
            )
        self.seen[(external_id, "")] = row.line
        stored = (
            Interaction.objects.filter(source=self.source, external_id=external_id)
            .values_list("thread_ref", flat=True)
            .first()
        )
        if stored is not None:
            self.threads[external_id] = stored
            return "unchanged"
        occurred_at = self.date(row, "occurred_at", required=True)
        direction = direction_read(str(v.get("direction") or ""))
        body = text_field(v.get("body"), field="body", required=True, loose=True)
        subject = _optional(v.get("subject"), field="subject", max_length=300) or ""
        channel_cell = str(v.get("channel") or "")
        channel, _original = (
            _case_channel(channel_cell) if channel_cell.strip() else (Channel.EMAIL, "")
        )
        thread = self._thread_of(
            external_id,
            _optional(v.get("thread"), field="thread", max_length=200) or "",
            _optional(v.get("reply_to"), field="reply_to", max_length=300) or "",
        )
        case_cell = _optional(v.get("case"), field="case", max_length=200)
        case = self._case(case_cell) if case_cell else None
        if case is not None:
            customer = case.customer
        elif thread in self.customers and not (
            v.get("customer_email") or v.get("customer_external_id")
        ):
            # A reply that names no customer is the conversation's customer's.
            customer = self.customers[thread]
        else:
            customer = self.customer(row, f"message:{external_id}")
        author_cell = _optional(v.get("author"), field="author", max_length=200) or ""
        staff = None
        if direction != Interaction.Direction.INBOUND and author_cell:
            staff = (
                User.objects.filter(username__iexact=author_cell).first()
                or User.objects.filter(email__iexact=author_cell).first()
            )
        interaction_log(
            customer=customer,
            channel=channel,
            direction=direction,
            body=body,
            author=staff,
            author_name=author_cell,
            subject=subject,
            occurred_at=occurred_at,
            thread_ref=thread,
            source=self.source,
            external_id=external_id,
            metadata={
                "imported": True,
                **({"in_reply_to": v["reply_to"]} if v.get("reply_to") else {}),
            },
            case=case,
        )
        self.threads[external_id] = thread
        self.customers.setdefault(thread, customer)
        return "created"
