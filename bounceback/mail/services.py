"""Email intake: every received message is stored once and lands where it belongs.

Rules for callers:
- `email_receive` is the only way mail comes in (IMAP poller, SMTP receiver,
  API, demo). It never raises for anything wrong with the message itself:
  what it cannot turn into a case is stored HELD with the reason, for a
  person. Database errors do propagate, so a transport can answer "try later".
- A message is a case message only when a person wrote it: auto-replies,
  bounces and our own mail coming back are stored IGNORED, never a case.
- Nobody writes into someone else's case by guessing its reference: a reply
  that names a case is accepted only from that case's customer.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bounceback.actors import ActorLike, actor_of
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record
from bounceback.cases.models import Case, CaseLink
from bounceback.cases.services import case_link, case_log_customer_message, case_open
from bounceback.customers.models import Channel, Customer, CustomerEmail
from bounceback.customers.services import NAME_MAX, customer_create
from bounceback.errors import Conflict, ServiceError, ValidationFailed
from bounceback.interactions.models import Interaction
from bounceback.interactions.services import BODY_MAX
from bounceback.mail.models import EmailAttachment, InboundEmail
from bounceback.mail.outgoing import our_addresses, reference_tag, untagged
from bounceback.mail.parsing import ParsedEmail, auto_kind, parse_email, parse_headers
from bounceback.outbox.models import OutboundMessage

logger = logging.getLogger(__name__)

LOOP_WINDOW = timedelta(minutes=10)
# Whole text kept on the stored email (the interaction gets the reply part).
TEXT_MAX = 1_000_000
_SUBJECT_REFERENCE = re.compile(r"\[(BB-\d+)\]", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs|tr|antw)\s*(\[\d+\])?\s*:\s*)+", re.I)
Kind = InboundEmail.Kind
State = InboundEmail.State


@dataclass
class _Decision:
    state: str
    kind: str = Kind.NORMAL
    reason: str = ""
    case: Case | None = None
    customer: Customer | None = None


# --- Receiving ------------------------------------------------------------------------------


def email_receive(*, raw: bytes, source: str, received_at: datetime | None = None) -> InboundEmail:
    """Store one received message and act on it; returns the stored row.

    The same message again (same bytes, or the same Message-ID) returns the
    row stored the first time and does nothing else. Safe to call
    concurrently for the same message.
    """
    raw = bytes(raw)
    received_at = received_at or timezone.now()
    if timezone.is_naive(received_at):
        received_at = timezone.make_aware(received_at, timezone.get_current_timezone())
    digest = hashlib.sha256(raw).hexdigest()
    # The same bytes again (a re-polled mailbox, a retrying server) are answered
    # before parsing; only a message with new bytes is parsed and its Message-ID
    # looked up. Both look-ups read ids alone.
    existing = _existing(digest, "")
    if existing is not None:
        return existing
    oversized = len(raw) > settings.BOUNCEBACK_MAIL_MAX_BYTES
    parsed = parse_headers(raw) if oversized else parse_email(raw)
    existing = _existing("", parsed.message_id)
    if existing is not None:
        return existing
    problem = ""
    try:
        with transaction.atomic():
            return _receive(raw, digest, parsed, source, received_at, oversized=oversized)
    except IntegrityError:
        existing = _existing(digest, parsed.message_id)
        if existing is not None:
            return existing
        raise
    except DatabaseError:
        raise
    except Exception as exc:
        # Anything else is about this message (a refused customer, a broken
        # part we did not foresee): keep it for a person rather than lose it.
        problem = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ServiceError):
            logger.exception("email intake failed for a message from %s", parsed.from_address)
    try:
        with transaction.atomic():
            email = _new_row(raw, digest, parsed, source, received_at)
            email.state = State.HELD
            email.kind = Kind.MALFORMED if not parsed.from_address else Kind.NORMAL
            email.reason = f"could not be filed automatically: {problem}"[:2000]
            email.save()
            if not oversized:
                _store_attachments(email, parsed)
            return email
    except IntegrityError:
        existing = _existing(digest, parsed.message_id)
        if existing is not None:
            return existing
        raise


def _existing(digest: str, message_id: str) -> InboundEmail | None:
    """The row stored for the same bytes (`digest`) or the same Message-ID; "" skips one.

    One query for ids alone (both columns are indexed); the row, without its
    bytes, is read only when there is one. The same bytes win over the same
    Message-ID.
    """
    if not digest and not message_id:
        return None
    same = Q(raw_sha256=digest) if digest else Q()
    if message_id:
        same = (same | Q(message_id=message_id)) if digest else Q(message_id=message_id)
    found = list(InboundEmail.objects.filter(same).values_list("pk", "raw_sha256")[:2])
    if not found:
        return None
    pk = next((pk for pk, sha in found if sha == digest), found[0][0])
    return InboundEmail.objects.without_raw().get(pk=pk)


# What is kept of a message over the size limit: its header, at most this much.
_OVERSIZED_KEPT = 256 * 1024


def _kept_bytes(raw: bytes) -> bytes:
    """The bytes stored for a message: all of it, or only the header of an oversized one.

    SMTP refuses oversized mail outright, but an IMAP mailbox hands over
    whatever it holds; storing gigabytes would fail the whole poll.
    """
    if len(raw) <= settings.BOUNCEBACK_MAIL_MAX_BYTES:
        return raw
    ends = [at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at >= 0]
    header_end = min(ends) if ends else _OVERSIZED_KEPT
    return raw[: min(header_end, _OVERSIZED_KEPT)]


def _new_row(
    raw: bytes, digest: str, parsed: ParsedEmail, source: str, received_at: datetime
) -> InboundEmail:
    return InboundEmail(
        source=source[:200],
        message_id=parsed.message_id,
        raw_sha256=digest,
        raw=_kept_bytes(raw),
        size=len(raw),
        from_address=parsed.from_address[:320],
        from_name=parsed.from_name[:200],
        to_addresses=parsed.to[:100],
        cc_addresses=parsed.cc[:100],
        subject=parsed.subject[:300],
        in_reply_to=parsed.in_reply_to[:300],
        references=" ".join(parsed.references),
        body_text=parsed.text[:TEXT_MAX],
        sent_at=parsed.sent_at,
        received_at=received_at,
        state=State.HELD,
    )


def _receive(
    raw: bytes,
    digest: str,
    parsed: ParsedEmail,
    source: str,
    received_at: datetime,
    *,
    oversized: bool,
) -> InboundEmail:
    email = _new_row(raw, digest, parsed, source, received_at)
    decision = _decide(parsed, received_at=received_at, oversized=oversized, size=len(raw))
    email.state, email.kind, email.reason = decision.state, decision.kind, decision.reason
    email.case, email.customer = decision.case, decision.customer
    if decision.case is not None and email.customer is None:
        email.customer = decision.case.customer
    email.save()
    attachments = [] if oversized else _store_attachments(email, parsed)
    if decision.state == State.ACCEPTED:
        _file(
            email,
            parsed,
            case=decision.case,
            customer=decision.customer,
            actor=None,
            attachments=attachments,
            sender_looked_up=True,
        )
    return email


# --- Deciding ------------------------------------------------------------------------------


def _decide(parsed: ParsedEmail, *, received_at: datetime, oversized: bool, size: int) -> _Decision:
    if oversized:
        limit = settings.BOUNCEBACK_MAIL_MAX_BYTES
        return _Decision(
            State.HELD, Kind.OVERSIZED, f"the message is {size:,} bytes, over the {limit:,} limit"
        )
    if not parsed.from_address:
        problems = "; ".join(parsed.problems)
        reason = "no sender address (From) could be read" + (f" ({problems})" if problems else "")
        return _Decision(State.HELD, Kind.MALFORMED, reason)
    automatic = auto_kind(parsed)
    if automatic is not None:
        kind, reason = automatic
        ids = parsed.reported_message_ids if kind == Kind.BOUNCE else parsed.thread_ids
        case = _case_for_message_ids(ids)
        return _Decision(State.IGNORED, kind, reason, case=case)
    loop = _loop_reason(parsed)
    if loop:
        return _Decision(State.IGNORED, Kind.LOOP, loop)
    limit = settings.BOUNCEBACK_MAIL_LOOP_LIMIT
    recent = InboundEmail.objects.filter(
        from_address=parsed.from_address,
        received_at__gt=received_at - LOOP_WINDOW,
        received_at__lte=received_at,
    ).count()
    if recent >= limit:
        return _Decision(
            State.HELD,
            Kind.LOOP,
            f"probable mail loop: more than {limit} messages from {parsed.from_address} "
            "in 10 minutes",
        )
    case, how = _threaded_case(parsed)
    if case is not None:
        if not _belongs_to(case.customer, parsed.from_address):
            return _Decision(
                State.HELD,
                reason=f"{parsed.from_address} wrote into {case.reference} ({how}) but is not "
                "that case's customer: release it into the case if it belongs there",
                case=case,
            )
        return _Decision(State.ACCEPTED, reason=f"joined {case.reference} ({how})", case=case)
    return _Decision(
        State.ACCEPTED, reason="new thread: opened a case", customer=_known_customer(parsed)
    )


def _loop_reason(parsed: ParsedEmail) -> str:
    ours = our_addresses()
    if untagged(parsed.from_address) in {untagged(a) for a in ours}:
        return f"sent from our own address {parsed.from_address}"
    if "x-bounceback-case" in parsed.headers:
        return "carries our X-Bounceback-Case header (our own message came back)"
    loop = parsed.headers.get("x-loop", "").lower()
    if loop and ("bounceback" in loop or any(untagged(a) in loop for a in ours)):
        return f"X-Loop names us ({loop[:100]})"
    return ""


def _case_for_message_ids(ids: list[str]) -> Case | None:
    """The case of the first of `ids` that is one of our sent or received messages."""
    if not ids:
        return None
    sent = dict(
        OutboundMessage.objects.filter(
            message_id__in=[f"<{i}>" for i in ids], interaction__case__isnull=False
        ).values_list("message_id", "interaction__case_id")
    )
    received = dict(
        InboundEmail.objects.filter(message_id__in=ids, case__isnull=False).values_list(
            "message_id", "case_id"
        )
    )
    for message_id in ids:
        case_id = sent.get(f"<{message_id}>") or received.get(message_id)
        if case_id:
            return Case.objects.select_related("customer").get(pk=case_id)
    return None


def _threaded_case(parsed: ParsedEmail) -> tuple[Case | None, str]:
    case = _case_for_message_ids(parsed.thread_ids)
    if case is not None:
        return case, "a reply in its email thread"
    for address in [*parsed.to, *parsed.cc, *parsed.delivered_to]:
        reference = reference_tag(address)
        if reference:
            case = Case.objects.select_related("customer").filter(reference=reference).first()
            if case is not None:
                return case, f"sent to {address}"
    match = _SUBJECT_REFERENCE.search(parsed.subject)
    if match:
        reference = match.group(1).upper()
        case = Case.objects.select_related("customer").filter(reference=reference).first()
        if case is not None:
            return case, f"[{reference}] in the subject"
    return None, ""


def _belongs_to(customer: Customer, address: str) -> bool:
    return CustomerEmail.objects.filter(customer=customer, address__iexact=address).exists()


def _known_customer(parsed: ParsedEmail) -> Customer | None:
    row = (
        CustomerEmail.objects.select_related("customer")
        .filter(address__iexact=parsed.from_address)
        .first()
    )
    return row.customer if row else None


# --- Filing into a case ------------------------------------------------------------------------


def _summary(parsed: ParsedEmail) -> str:
    subject = _SUBJECT_REFERENCE.sub("", _REPLY_PREFIX.sub("", parsed.subject)).strip()
    if not subject:
        first = next((line.strip() for line in parsed.reply_text.split("\n") if line.strip()), "")
        subject = first
    if not subject:
        subject = f"Email from {parsed.from_name or parsed.from_address or 'an unknown sender'}"
    return subject[:200]


def _body(parsed: ParsedEmail, attachments: list[EmailAttachment]) -> str:
    text = parsed.reply_text.strip()
    if len(text) > BODY_MAX:
        text = text[: BODY_MAX - 100].rstrip() + "\n\n[... cut: the whole text is on the email]"
    if text:
        return text
    if attachments:
        return "(No text; attached: " + ", ".join(a.filename for a in attachments) + ")"
    return "(The email had no text.)"


def _customer_for(parsed: ParsedEmail, *, looked_up: bool = False) -> Customer:
    """The sender's customer, created when unknown; `looked_up`: _decide found none already."""
    known = None if looked_up else _known_customer(parsed)
    if known is not None:
        return known
    name = parsed.from_name.strip() or parsed.from_address.split("@", 1)[0]
    try:
        return customer_create(name=name[:NAME_MAX], emails=[parsed.from_address])
    except Conflict:
        # Another message from the same new sender created them a moment ago.
        known = _known_customer(parsed)
        if known is None:
            raise
        return known


def _file(
    email: InboundEmail,
    parsed: ParsedEmail,
    *,
    case: Case | None,
    customer: Customer | None,
    actor: ActorLike,
    attachments: list[EmailAttachment] | None = None,
    sender_looked_up: bool = False,
) -> None:
    """Write the email into `case` (a new case when None or closed) as the customer's message.

    `attachments`: the email's stored attachments when the caller holds them
    (read otherwise); `sender_looked_up`: `customer` None means the sender is
    known to be no customer yet, so it is not looked up again.
    """
    if attachments is None:
        attachments = list(email.attachments.all())
    body = _body(parsed, attachments)
    if case is not None and case.status == Case.Status.CLOSED:
        closed = case
        case = case_open(
            customer=closed.customer,
            summary=_summary(parsed),
            description=body[:20_000],
            channel=Channel.EMAIL,
            actor=actor,
        )
        case_link(case=case, other=closed, actor=actor, kind=CaseLink.Kind.FOLLOWS)
    elif case is None:
        case = case_open(
            customer=customer or _customer_for(parsed, looked_up=sender_looked_up),
            summary=_summary(parsed),
            description=body[:20_000],
            channel=Channel.EMAIL,
            actor=actor,
        )
    case_log_customer_message(
        case=case,
        actor=actor,
        body=body,
        channel=Channel.EMAIL,
        subject=parsed.subject[:300],
        occurred_at=min(email.received_at, timezone.now()),
        source="email",
        external_id=email.message_id or None,
        metadata={
            "message_id": email.message_id,
            "from": email.from_address,
            "to": email.to_addresses,
            "cc": email.cc_addresses,
            "attachments": [a.pk for a in attachments],
            "inbound_email": email.pk,
        },
    )
    interaction = (
        Interaction.objects.filter(case=case, direction=Interaction.Direction.INBOUND)
        .order_by("-id")
        .first()
    )
    if attachments:
        email.attachments.update(interaction=interaction)
    email.case, email.customer, email.interaction = case, case.customer, interaction
    email.save(update_fields=["case", "customer", "interaction"])


def _store_attachments(email: InboundEmail, parsed: ParsedEmail) -> list[EmailAttachment]:
    each_max = settings.BOUNCEBACK_MAIL_ATTACHMENT_MAX_BYTES
    count_max = settings.BOUNCEBACK_MAIL_ATTACHMENTS_MAX
    rows = []
    for index, item in enumerate(parsed.attachments):
        reason = ""
        if index >= count_max:
            reason = f"more than {count_max} attachments"
        elif len(item.data) > each_max:
            reason = f"{len(item.data):,} bytes, over the {each_max:,} limit"
        elif item.blocked:
            reason = "blocked file type (programs and scripts are not stored)"
        rows.append(
            EmailAttachment(
                inbound_email=email,
                filename=item.filename[:200],
                content_type=item.content_type[:200],
                size=len(item.data),
                sha256=hashlib.sha256(item.data).hexdigest(),
                content=None if reason else item.data,
                skipped=bool(reason),
                skip_reason=reason,
            )
        )
    # Row by row: bulk_create does not return ids on every database.
    for row in rows:
        row.save()
    return rows


# --- A person decides ---------------------------------------------------------------------------

DECIDABLE = (State.HELD, State.IGNORED)


def _lock(email: InboundEmail) -> InboundEmail:
    return InboundEmail.objects.select_for_update().get(pk=email.pk)


@transaction.atomic
def email_release(
    *, email: InboundEmail, actor: ActorLike, case_reference: str = ""
) -> InboundEmail:
    """File a held (or wrongly ignored) email into a case: the named one, or a new case."""
    email = _lock(email)
    if email.state not in DECIDABLE:
        raise Conflict(f"this email is already {email.get_state_display().lower()}", field="state")
    reference = case_reference.strip().upper()
    case = None
    if reference:
        case = Case.objects.select_related("customer").filter(reference=reference).first()
        if case is None:
            raise ValidationFailed(f"there is no case {reference}", field="case_reference")
        if case.status == Case.Status.CLOSED:
            raise ValidationFailed(
                f"{reference} is closed: reopen it first, or release into a new case",
                field="case_reference",
            )
    parsed = parse_email(bytes(email.raw))
    if case is None and not parsed.from_address:
        raise ValidationFailed(
            "this email has no sender address: name the case to release it into",
            field="case_reference",
        )
    if not email.attachments.exists():
        _store_attachments(email, parsed)
    _file(email, parsed, case=case, customer=None, actor=actor)
    decider = actor_of(actor).user
    email.state, email.decided_by, email.decided_at = State.RELEASED, decider, timezone.now()
    email.save(update_fields=["state", "decided_by", "decided_at"])
    audit_record(
        action=AuditEvent.Action.EMAIL_RELEASED,
        actor=actor,
        target=f"inbound_email:{email.pk}",
        data={"case": email.case.reference if email.case else "", "from": email.from_address},
    )
    return email


@transaction.atomic
def email_discard(*, email: InboundEmail, actor: ActorLike, reason: str) -> InboundEmail:
    """Decide a held email needs nothing; the message stays stored with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("say why the email is discarded", field="reason")
    if len(reason) > 1000:
        raise ValidationFailed("the reason is longer than 1000 characters", field="reason")
    email = _lock(email)
    if email.state not in DECIDABLE:
        raise Conflict(f"this email is already {email.get_state_display().lower()}", field="state")
    decider = actor_of(actor).user
    email.state, email.decided_by, email.decided_at = State.DISCARDED, decider, timezone.now()
    email.reason = f"{email.reason}\nDiscarded: {reason}".strip()
    email.save(update_fields=["state", "decided_by", "decided_at", "reason"])
    audit_record(
        action=AuditEvent.Action.EMAIL_DISCARDED,
        actor=actor,
        target=f"inbound_email:{email.pk}",
        data={"reason": reason, "from": email.from_address},
    )
    return email
