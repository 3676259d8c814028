"""The breakdown's work at scale: finding who is affected, contacting them, telling them.

Everything here is set-based: a chunk of 5,000 customers is a handful of
statements (see bulk_writes.py), never a statement per customer. The rows
written are exactly those the row-at-a-time case services write (case_open,
case_apologise, case_send_update, case_mark_fixed), so a case opened by
outreach looks and behaves like any other on the case page and in the API.

Only breakdowns/services.py calls these, inside its own transactions, except
`run_chunk`, which is one transaction of its own.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from bounceback.breakdowns.bulk_writes import (
    allocate_ids,
    bulk_insert,
    bulk_update,
    id_match,
)
from bounceback.breakdowns.models import (
    AffectedCustomer,
    Breakdown,
    BreakdownMessage,
)
from bounceback.breakdowns.timeline import actor_label, person, record_event
from bounceback.cases.models import Case, CaseEvent
from bounceback.cases.policy import hours, policy_for
from bounceback.customers.models import Channel, Customer, CustomerEmail, CustomerPhone
from bounceback.interactions.models import Interaction
from bounceback.outbox.channels import usable_channels
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import new_message_id, outbox_stagger
from bounceback.playbooks.models import PlaybookTemplate, PlaybookVersion, TemplatePurpose
from bounceback.playbooks.selectors import template_for
from bounceback.playbooks.templating import (
    PLACEHOLDER_PATTERN,
    breakdown_values,
    customer_values,
    first_name,
    render,
)
from bounceback.timers.calendars import business_add
from bounceback.timers.models import BusinessCalendar, Timer
from bounceback.transactions.models import Transaction

# Where a message on each channel is addressed.
ADDRESSED_BY_EMAIL = {Channel.EMAIL}
ADDRESSED_BY_PHONE = {Channel.SMS}
FIRST_MESSAGE = (TemplatePurpose.APOLOGY, TemplatePurpose.EXPLANATION, TemplatePurpose.ALTERNATIVES)
CUSTOMER_KEYS = ("customer.name", "customer.first_name", "case.reference")


def _person_id(actor: Any) -> int | None:
    user = person(actor)
    return user.pk if user is not None else None


# --- Who is affected -----------------------------------------------------------------


def _matching_transactions(breakdown: Breakdown) -> Any:
    """Transactions in scope: at the site, happening in the window, of the product and filter.

    A transaction happens when it is delivered (scheduled_for) or, when it has
    no delivery time, when it was bought.
    """
    when = Coalesce("scheduled_for", "occurred_at")
    rows = Transaction.objects.annotate(happens_at=when).filter(
        happens_at__gte=breakdown.window_start
    )
    if breakdown.window_end is not None:
        rows = rows.filter(happens_at__lt=breakdown.window_end)
    if breakdown.site_id:
        rows = rows.filter(site_id=breakdown.site_id)
    if breakdown.product:
        rows = rows.filter(product__iexact=breakdown.product)
    scope = breakdown.transaction_filter or {}
    if scope.get("kind"):
        rows = rows.filter(kind__in=scope["kind"])
    if scope.get("status"):
        rows = rows.filter(status__in=scope["status"])
    for key, value in (scope.get("attributes") or {}).items():
        rows = rows.filter(**{f"attributes__{key}": value})
    return rows


def find_affected(breakdown: Breakdown) -> int:
    """One PENDING row per affected customer (with their latest matching transaction), linked."""
    scope = breakdown.transaction_filter or {}
    has_scope = bool(
        breakdown.site_id
        or breakdown.product
        or any(scope.get(k) for k in ("kind", "status", "attributes"))
    )
    table = connection.ops.quote_name(AffectedCustomer._meta.db_table)
    if has_scope:
        matches = (
            _matching_transactions(breakdown)
            .order_by()
            .values("customer_id")
            .annotate(first=Max("id"))
            .values_list("customer_id", "first")
        )
        sql, params = matches.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (breakdown_id, customer_id, transaction_id, state, "  # noqa: S608
                f"channel, language) SELECT %s, m.customer_id, m.first, %s, '', '' "
                f"FROM ({sql}) AS m(customer_id, first)"
                if connection.vendor == "postgresql"
                else f"INSERT INTO {table} (breakdown_id, customer_id, transaction_id, state, "  # noqa: S608
                f"channel, language) SELECT %s, m.customer_id, m.first, %s, '', '' "
                f"FROM (SELECT * FROM ({sql})) AS m",
                [breakdown.pk, AffectedCustomer.State.PENDING, *params],
            )
    named = [i for i in scope.get("customer_ids") or [] if isinstance(i, int)]
    if named:
        known = set(
            AffectedCustomer.objects.filter(breakdown=breakdown, customer_id__in=named).values_list(
                "customer_id", flat=True
            )
        )
        AffectedCustomer.objects.bulk_create(
            [
                AffectedCustomer(breakdown=breakdown, customer_id=pk)
                for pk in named
                if pk not in known
            ]
        )
    return link_open_cases(breakdown)


def _open_case_for(breakdown: Breakdown) -> Any:
    """The customer's open case about this failure, if any (newest first)."""
    about = Q(breakdown_id=breakdown.pk)
    failure_mode_id = breakdown.playbook_version.playbook.failure_mode_id
    if failure_mode_id:
        about |= Q(failure_mode_id=failure_mode_id)
    if breakdown.site_id:
        about |= Q(site_id=breakdown.site_id, created_at__gte=breakdown.window_start)
    return (
        Case.objects.open()
        .filter(about, customer_id=OuterRef("customer_id"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )


def link_open_cases(breakdown: Breakdown, only_ids: Sequence[int] | None = None) -> int:
    """Mark PENDING customers who already have an open case for this failure as LINKED."""
    rows = AffectedCustomer.objects.filter(
        breakdown=breakdown, state=AffectedCustomer.State.PENDING
    )
    if only_ids is not None:
        rows = rows.filter(pk__in=list(only_ids))
    open_case = _open_case_for(breakdown)
    return rows.filter(Exists(open_case)).update(
        state=AffectedCustomer.State.LINKED, case_id=Subquery(open_case)
    )


def link_cases_to_breakdown(breakdown: Breakdown, *, actor: Any, now: datetime) -> int:
    """At confirmation: the linked customers' own cases join the breakdown. No message."""
    case_ids = list(
        breakdown.affected.filter(state=AffectedCustomer.State.LINKED, case__isnull=False)
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )
    if not case_ids:
        return 0
    Case.objects.filter(pk__in=case_ids).update(breakdown=breakdown, updated_at=now)
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(
                case_id=pk,
                kind="linked_to_breakdown",
                summary=f"Linked to breakdown {breakdown.reference}: {breakdown.title}"[:300],
                actor_id=_person_id(actor),
                actor_label=actor_label(actor)[:200],
                data={"breakdown": breakdown.reference},
                at=now,
            )
            for pk in case_ids
        ]
    )
    return len(case_ids)


def state_counts(breakdown: Breakdown) -> dict[str, int]:
    return dict(
        AffectedCustomer.objects.filter(breakdown=breakdown)
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
    )


# --- Channels and messages ------------------------------------------------------------------


def choose_channel(
    preferred: str, email: str | None, phone: str | None, *, usable: frozenset[str]
) -> tuple[str, str] | None:
    """(channel, address) to reach the customer by, or None: they go on the call list.

    `usable` is `usable_channels()`, asked once per wave rather than per customer.
    """
    if preferred in usable:
        if preferred in ADDRESSED_BY_EMAIL and email:
            return preferred, email
        if preferred in ADDRESSED_BY_PHONE and phone:
            return preferred, phone
    if email and Channel.EMAIL in usable:
        return Channel.EMAIL, email
    return None


@dataclass
class ChannelPlan:
    by_channel: dict[str, int] = field(default_factory=dict)
    unreachable: int = 0


def plan_channels(breakdown: Breakdown) -> ChannelPlan:
    """How the PENDING customers would be reached, counted in one grouped query."""
    email = CustomerEmail.objects.filter(customer_id=OuterRef("customer_id"))
    phone = CustomerPhone.objects.filter(customer_id=OuterRef("customer_id"))
    groups = (
        breakdown.affected.filter(state=AffectedCustomer.State.PENDING)
        .annotate(has_email=Exists(email), has_phone=Exists(phone))
        .order_by()
        .values_list("customer__preferred_channel", "has_email", "has_phone")
        .annotate(n=Count("id"))
    )
    plan = ChannelPlan()
    usable = usable_channels()
    for preferred, has_email, has_phone, n in groups:
        choice = choose_channel(
            preferred, "x" if has_email else None, "x" if has_phone else None, usable=usable
        )
        if choice is None:
            plan.unreachable += n
        else:
            plan.by_channel[choice[0]] = plan.by_channel.get(choice[0], 0) + n
    return plan


def _version(version: PlaybookVersion) -> PlaybookVersion:
    cache = getattr(version, "_prefetched_objects_cache", {})
    if "templates" not in cache:
        version._prefetched_objects_cache = {  # type: ignore[attr-defined]
            **cache,
            "templates": list(version.templates.all()),
        }
    return version


def first_templates(
    version: PlaybookVersion, channel: str, language: str
) -> list[PlaybookTemplate | None]:
    """The apology, explanation and alternatives for this channel and language."""
    version = _version(version)
    return [
        template_for(version=version, purpose=p, channel=channel, language=language or "en")
        for p in FIRST_MESSAGE
    ]


@functools.lru_cache(maxsize=64)
def _pieces(text: str) -> tuple[str | int, ...]:
    """`text` split into literal strings and the indexes of customer values (see _fill)."""
    pieces: list[str | int] = []
    at = 0
    for match in PLACEHOLDER_PATTERN.finditer(text):
        pieces.append(text[at : match.start()])
        key = match.group(1)
        pieces.append(CUSTOMER_KEYS.index(key) if key in CUSTOMER_KEYS else "")
        at = match.end()
    pieces.append(text[at:])
    return tuple(pieces)


def _fill(text: str, name: str, reference: str) -> str:
    """render() for a text whose breakdown values are already filled (see _partial):
    the same result, without a regular expression per customer."""
    values = (name, first_name(name), reference)
    return "".join(p if isinstance(p, str) else values[p] for p in _pieces(text))


def _partial(text: str, common: dict[str, str]) -> str:
    """Fill the breakdown's values once; the customer's stay as placeholders."""
    keep = {key: "{{ " + key + " }}" for key in CUSTOMER_KEYS}
    return render(text, {**common, **keep})


@dataclass
class Composed:
    language: str
    subject: str
    body: str
    coach_score: int | None


def _compose(
    breakdown: Breakdown, common: dict[str, str], channel: str, language: str
) -> Composed | None:
    templates = first_templates(breakdown.playbook_version, channel, language)
    apology = templates[0]
    if apology is None:
        return None
    body = "\n\n".join(_partial(t.body.strip(), common) for t in templates if t is not None)
    subject = _partial(apology.subject.strip(), common) if apology.subject.strip() else ""
    return Composed(
        language=apology.language, subject=subject, body=body, coach_score=apology.coach_score
    )


def _subject(reference: str, text: str) -> str:
    return f"[{reference}] {text}"[:300]


def render_first_message(breakdown: Breakdown, customer: Customer) -> tuple[str, str]:
    """What this customer would read first (a preview: the case reference is a sample)."""
    common = breakdown_values(breakdown)
    choice = choose_channel(
        customer.preferred_channel,
        customer.primary_email,
        customer.primary_phone,
        usable=usable_channels(),
    )
    composed = _compose(breakdown, common, choice[0] if choice else Channel.EMAIL, customer.locale)
    if composed is None:
        return "", ""
    values = customer_values(common, customer_name=customer.name, case_reference="BB-?????")
    subject = render(composed.subject, values) or "We're sorry"
    return _subject("BB-?????", subject), render(composed.body, values).strip()


# --- The outreach, one chunk at a time ---------------------------------------------------------


def _pending_chunk(breakdown_id: int, size: int) -> list[tuple[Any, ...]]:
    email = (
        CustomerEmail.objects.filter(customer_id=OuterRef("customer_id"))
        .order_by("-is_primary", "id")
        .values("address")[:1]
    )
    phone = (
        CustomerPhone.objects.filter(customer_id=OuterRef("customer_id"))
        .order_by("-is_primary", "id")
        .values("number")[:1]
    )
    return list(
        AffectedCustomer.objects.filter(
            breakdown_id=breakdown_id, state=AffectedCustomer.State.PENDING
        )
        .annotate(email=Subquery(email), phone=Subquery(phone))
        .order_by("id")
        .values_list(
            "id",
            "customer_id",
            "transaction_id",
            "customer__name",
            "customer__preferred_channel",
            "customer__locale",
            "email",
            "phone",
        )[:size]
    )


def run_chunk(*, breakdown_id: int, size: int) -> int | None:
    """Contact up to `size` PENDING customers in one transaction.

    Returns how many affected rows were processed, or None when the outreach
    must not go on (paused, not recovering, no such breakdown).
    """
    with transaction.atomic():
        breakdown = (
            Breakdown.objects.select_for_update(of=("self",))
            .select_related("site", "playbook_version__playbook", "confirmed_by")
            .filter(pk=breakdown_id)
            .first()
        )
        if (
            breakdown is None
            or breakdown.status != Breakdown.Status.RECOVERING
            or breakdown.outreach_paused
        ):
            return None
        actor = breakdown.confirmed_by
        rows = _pending_chunk(breakdown_id, size)
        if not rows:
            _complete(breakdown, actor)
            return 0
        _contact(breakdown, rows, actor=actor)
        if len(rows) < size:
            _complete(breakdown, actor)
        return len(rows)


def _complete(breakdown: Breakdown, actor: Any) -> None:
    if breakdown.events.filter(kind="outreach_complete").exists():
        return
    counts = state_counts(breakdown)
    queued = counts.get(AffectedCustomer.State.QUEUED, 0)
    unreachable = counts.get(AffectedCustomer.State.UNREACHABLE, 0)
    record_event(
        breakdown,
        kind="outreach_complete",
        summary=f"Outreach complete: {queued} messages queued, {unreachable} to call, "
        f"{counts.get(AffectedCustomer.State.LINKED, 0)} linked",
        data={"counts": counts},
        actor=actor,
    )


def _contact(breakdown: Breakdown, rows: list[tuple[Any, ...]], *, actor: Any) -> int:
    """Open the cases, log the apologies, queue the messages, mark the rows: set-based."""
    now = timezone.now()
    common = breakdown_values(breakdown)
    version = breakdown.playbook_version
    failure_mode_id = version.playbook.failure_mode_id
    composed: dict[tuple[str, str], Composed | None] = {}
    reach: list[tuple[tuple[Any, ...], str, str, Composed]] = []
    unreachable: list[int] = []
    usable = usable_channels()
    for row in rows:
        _aid, _cid, _tid, _name, preferred, locale, email, phone = row
        choice = choose_channel(preferred, email, phone, usable=usable)
        if choice is None:
            unreachable.append(row[0])
            continue
        channel, address = choice
        key = (channel, locale or "en")
        if key not in composed:
            composed[key] = _compose(breakdown, common, channel, locale or "en")
        message = composed[key]
        if message is None:
            unreachable.append(row[0])
            continue
        reach.append((row, channel, address, message))

    count = len(reach)
    case_ids = allocate_ids(Case, count)
    interaction_ids = allocate_ids(Interaction, count)
    message_ids = allocate_ids(OutboundMessage, count)
    references = [f"BB-{pk:05d}" for pk in case_ids]
    channels = [r[1] for r in reach]
    subjects: list[str] = []
    bodies: list[str] = []
    for (row, _channel, _address, message), reference in zip(reach, references, strict=True):
        subject = _fill(message.subject, row[3], reference).strip() or "We're sorry"
        subjects.append(_subject(reference, subject))
        bodies.append(_fill(message.body, row[3], reference).strip())
    actor_id = _person_id(actor)
    label = actor_label(actor)[:200]
    author_name = str(actor)[:200] if actor is not None else ""
    title = breakdown.title[:200]
    ref = breakdown.reference or str(breakdown.pk)

    # Cases opened by outreach carry no timers of their own: the apology is
    # done as they open, and the breakdown's checklist stands for the fix, so
    # 100,000 fix timers would only mean 100,000 escalations of one problem.
    bulk_insert(
        Case,
        varying={
            "id": case_ids,
            "reference": references,
            "customer_id": [r[0][1] for r in reach],
            "transaction_id": [r[0][2] for r in reach],
            "channel": channels,
        },
        constant={
            "summary": title,
            "failure_mode_id": failure_mode_id,
            "breakdown_id": breakdown.pk,
            "proactive": True,
            "severity": breakdown.severity,
            "site_id": breakdown.site_id,
            "status": Case.Status.APOLOGISED,
            "apologised_at": now,
            "apology_score": _score(composed),
            "created_by_id": actor_id,
            "created_at": now,
            "updated_at": now,
        },
        now=now,
    )
    bulk_insert(
        Interaction,
        varying={
            "id": interaction_ids,
            "customer_id": [r[0][1] for r in reach],
            "case_id": case_ids,
            "channel": channels,
            "subject": subjects,
            "body": bodies,
            "thread_ref": references,
        },
        constant={
            "direction": Interaction.Direction.OUTBOUND,
            "author_id": actor_id,
            "author_name": author_name,
            "occurred_at": now,
            "source": "bounceback",
            "external_id": None,
            "metadata": {"purpose": "apology", "breakdown": ref},
        },
        now=now,
    )
    bulk_insert(
        OutboundMessage,
        varying={
            "id": message_ids,
            "channel": channels,
            "customer_id": [r[0][1] for r in reach],
            "interaction_id": interaction_ids,
            "to_address": [r[2].strip() for r in reach],
            "subject": subjects,
            "body_text": bodies,
            "message_id": [new_message_id() for _ in reach],
            "headers": [{"X-Bounceback-Case": reference} for reference in references],
            "next_attempt_at": outbox_stagger(channels=channels, now=now),
        },
        constant={
            "batch": f"bd-{breakdown.pk}-outreach",
            "state": OutboundMessage.State.QUEUED,
            "attempts": 0,
            # The delivery lanes send each when its staggered time comes; no
            # task per message is queued.
            "lease_owner": "",
        },
        now=now,
    )
    _case_events(
        case_ids,
        interaction_ids,
        ref=ref,
        title=title,
        actor_id=actor_id,
        label=label,
        now=now,
    )
    bulk_update(
        AffectedCustomer,
        ids=[r[0][0] for r in reach],
        varying={
            "channel": channels,
            "language": [r[3].language for r in reach],
            "case_id": case_ids,
            "message_id": message_ids,
        },
        constant={"state": AffectedCustomer.State.QUEUED, "contacted_at": now},
    )
    bulk_update(
        AffectedCustomer, ids=unreachable, constant={"state": AffectedCustomer.State.UNREACHABLE}
    )
    if count:
        BreakdownMessage.objects.filter(
            breakdown=breakdown, batch=f"bd-{breakdown.pk}-outreach"
        ).update(recipients=F("recipients") + count)
    by_channel = dict(Counter(channels))
    record_event(
        breakdown,
        kind="outreach_wave",
        summary=f"Outreach: {count} message{'s' if count != 1 else ''} queued"
        + (f", {len(unreachable)} to call (no address)" if unreachable else ""),
        data={"queued": count, "unreachable": len(unreachable), "by_channel": by_channel},
        actor=actor,
    )
    return count


def _score(composed: dict[tuple[str, str], Composed | None]) -> int | None:
    scores = [c.coach_score for c in composed.values() if c is not None and c.coach_score]
    return min(scores) if scores else None


def _case_events(
    case_ids: list[int],
    interaction_ids: list[int],
    *,
    ref: str,
    title: str,
    actor_id: int | None,
    label: str,
    now: datetime,
) -> None:
    count = len(case_ids)
    bulk_insert(
        CaseEvent,
        varying={
            "case_id": [*case_ids, *case_ids],
            "kind": ["opened"] * count + ["apologised"] * count,
            "summary": [f"Case opened by proactive outreach for {ref}: {title}"[:300]] * count
            + [f"Apology sent by proactive outreach for {ref}"[:300]] * count,
            "interaction_id": [None] * count + interaction_ids,
        },
        constant={
            "at": now,
            "actor_id": actor_id,
            "actor_label": label,
            "data": {"breakdown": ref, "proactive": True},
        },
        now=now,
    )


# --- Waves to everyone with a case: status updates and the all-clear ---------------------------


def _wave_rows(breakdown: Breakdown) -> list[tuple[Any, ...]]:
    email = (
        CustomerEmail.objects.filter(customer_id=OuterRef("customer_id"))
        .order_by("-is_primary", "id")
        .values("address")[:1]
    )
    phone = (
        CustomerPhone.objects.filter(customer_id=OuterRef("customer_id"))
        .order_by("-is_primary", "id")
        .values("number")[:1]
    )
    return list(
        AffectedCustomer.objects.filter(
            breakdown=breakdown,
            state__in=[AffectedCustomer.State.QUEUED, AffectedCustomer.State.LINKED],
            case__isnull=False,
        )
        .annotate(email=Subquery(email), phone=Subquery(phone))
        .order_by("id")
        .values_list(
            "customer_id",
            "case_id",
            "state",
            "channel",
            "message__to_address",
            "customer__name",
            "customer__preferred_channel",
            "email",
            "phone",
            "case__reference",
            "case__status",
            "case__apologised_at",
            "case__fixed_at",
            "case__severity",
            "case__site_id",
            "case__documented_at",
        )
    )


WAVE_CHUNK = 5000


def send_wave(
    breakdown: Breakdown,
    *,
    message: BreakdownMessage,
    actor: Any,
    now: datetime,
    purpose: str,
    default_subject: str,
    fix: bool,
    paused: bool,
) -> int:
    """Send `message` to every customer with a case on the breakdown; returns how many.

    With `fix`, the cases are also marked fixed with the message as the fix
    summary, and their follow-up (and documentation) clocks start, as
    case_mark_fixed does.
    """
    common = breakdown_values(breakdown)
    subject_text = _partial(message.subject, common)
    body_text = _partial(message.body, common)
    rows = _wave_rows(breakdown)
    sent = 0
    for start in range(0, len(rows), WAVE_CHUNK):
        sent += _wave_chunk(
            breakdown,
            rows[start : start + WAVE_CHUNK],
            message=message,
            actor=actor,
            now=now,
            purpose=purpose,
            subject_text=subject_text,
            body_text=body_text,
            default_subject=default_subject,
            fix=fix,
            paused=paused,
        )
    return sent


def _wave_chunk(
    breakdown: Breakdown,
    rows: list[tuple[Any, ...]],
    *,
    message: BreakdownMessage,
    actor: Any,
    now: datetime,
    purpose: str,
    subject_text: str,
    body_text: str,
    default_subject: str,
    fix: bool,
    paused: bool,
) -> int:
    reach = []
    usable = usable_channels()
    for row in rows:
        (_cust, _case, state, channel, to_address, _name, preferred, email, phone) = row[:9]
        if state == AffectedCustomer.State.QUEUED and channel and to_address:
            reach.append((row, channel, to_address))
            continue
        choice = choose_channel(preferred, email, phone, usable=usable)
        if choice is not None:
            reach.append((row, choice[0], choice[1]))
    count = len(reach)
    actor_id = _person_id(actor)
    label = actor_label(actor)[:200]
    ref = breakdown.reference or str(breakdown.pk)
    interaction_ids = allocate_ids(Interaction, count)
    message_ids = allocate_ids(OutboundMessage, count)
    subjects, bodies = [], []
    for row, _channel, _address in reach:
        subject = _fill(subject_text, row[5], row[9] or "").strip() or default_subject
        subjects.append(_subject(row[9] or "", subject))
        bodies.append(_fill(body_text, row[5], row[9] or "").strip())
    channels = [r[1] for r in reach]
    case_ids = [r[0][1] for r in reach]
    references = [r[0][9] or "" for r in reach]
    bulk_insert(
        Interaction,
        varying={
            "id": interaction_ids,
            "customer_id": [r[0][0] for r in reach],
            "case_id": case_ids,
            "channel": channels,
            "subject": subjects,
            "body": bodies,
            "thread_ref": references,
        },
        constant={
            "direction": Interaction.Direction.OUTBOUND,
            "author_id": actor_id,
            "author_name": str(actor)[:200] if actor is not None else "",
            "occurred_at": now,
            "source": "bounceback",
            "external_id": None,
            "metadata": {"purpose": purpose, "breakdown": ref},
        },
        now=now,
    )
    bulk_insert(
        OutboundMessage,
        varying={
            "id": message_ids,
            "channel": channels,
            "customer_id": [r[0][0] for r in reach],
            "interaction_id": interaction_ids,
            "to_address": [r[2].strip() for r in reach],
            "subject": subjects,
            "body_text": bodies,
            "message_id": [new_message_id() for _ in reach],
            "headers": [{"X-Bounceback-Case": reference} for reference in references],
            "next_attempt_at": outbox_stagger(channels=channels, now=now),
        },
        constant={
            "batch": message.batch,
            "state": OutboundMessage.State.HELD if paused else OutboundMessage.State.QUEUED,
            "attempts": 0,
            "lease_owner": "",
        },
        now=now,
    )
    by_case = {r[0][1]: iid for r, iid in zip(reach, interaction_ids, strict=True)}
    fixable = [
        row
        for row in rows
        if fix
        and row[11] is not None
        and row[12] is None
        and row[10] not in {Case.Status.CLOSED, Case.Status.WAITING}
    ]
    fixable_ids = {row[1] for row in fixable}
    event_rows = []
    for row in rows:
        case_id = row[1]
        if case_id in fixable_ids:
            event_rows.append((case_id, "fixed", f"Fixed: {ref} all-clear", by_case.get(case_id)))
        elif case_id in by_case:
            kind = "update_sent"
            summary = (
                f"All-clear for breakdown {ref} sent" if fix else f"Progress update for {ref} sent"
            )
            event_rows.append((case_id, kind, summary, by_case[case_id]))
    bulk_insert(
        CaseEvent,
        varying={
            "case_id": [e[0] for e in event_rows],
            "kind": [e[1] for e in event_rows],
            "summary": [e[2][:300] for e in event_rows],
            "interaction_id": [e[3] for e in event_rows],
        },
        constant={
            "at": now,
            "actor_id": actor_id,
            "actor_label": label,
            "data": {"breakdown": ref},
        },
        now=now,
    )
    reached = list(by_case)
    if not fix:
        _cases_updated(reached, now)
        _meet_case_timers(reached, ("fix", "update"), now)
    else:
        fix_summaries = []
        for row in fixable:
            fix_summaries.append(_fill(body_text, row[5], row[9] or "").strip())
        bulk_update(
            Case,
            ids=[row[1] for row in fixable],
            varying={"fix_summary": fix_summaries},
            constant={"status": Case.Status.FIXED, "fixed_at": now, "updated_at": now},
        )
        _meet_case_timers([row[1] for row in fixable], ("fix", "update"), now)
        _start_follow_ups(fixable, now)
    return count


def _cases_updated(case_ids: list[int], now: datetime) -> None:
    """As case_send_update: the update is recorded, an apologised case is now being fixed."""
    if not case_ids:
        return
    table = connection.ops.quote_name(Case._meta.db_table)
    match, params = id_match("id", case_ids)
    stamp = (
        now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_update_at = %s, updated_at = %s, "  # noqa: S608
            f"status = CASE WHEN status = %s THEN %s ELSE status END WHERE {match}",
            [stamp, stamp, Case.Status.APOLOGISED, Case.Status.FIXING, *params],
        )


def _meet_case_timers(case_ids: list[int], kinds: Sequence[str], now: datetime) -> None:
    """timer_meet for many cases' timers: running ones are met, breaches stay breached."""
    if not case_ids:
        return
    table = connection.ops.quote_name(Timer._meta.db_table)
    match, params = id_match("subject_id", case_ids)
    stamp = (
        now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    )
    marks = ", ".join(["%s"] * len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = CASE WHEN state = %s THEN state ELSE %s END, "  # noqa: S608
            "met_at = %s, paused_at = NULL, next_fire_at = NULL "
            f"WHERE subject_type = 'case' AND kind IN ({marks}) AND met_at IS NULL "
            f"AND state IN (%s, %s, %s) AND {match}",
            [
                Timer.State.BREACHED,
                Timer.State.MET,
                stamp,
                *kinds,
                Timer.State.RUNNING,
                Timer.State.PAUSED,
                Timer.State.BREACHED,
                *params,
            ],
        )


def _start_follow_ups(fixable: list[tuple[Any, ...]], now: datetime) -> None:
    """The follow-up (and documentation) clocks case_mark_fixed starts, for many cases.

    Every case starts now, so cases with the same severity and calendar share
    their due times: business_add runs once per group, which keeps opening
    hours exact without a calculation per case.
    """
    if not fixable:
        return
    site_ids = {row[14] for row in fixable if row[14]}
    calendars: dict[int, BusinessCalendar | None] = {}
    if site_ids:
        from bounceback.sites.models import Site

        for site in Site.objects.filter(pk__in=site_ids).select_related("calendar"):
            calendars[site.pk] = site.calendar
    documenting = _documenting([row[1] for row in fixable if row[15] is None])
    groups: dict[tuple[str, int | None], list[int]] = {}
    docs: dict[tuple[str, int | None], list[int]] = {}
    for row in fixable:
        calendar = calendars.get(row[14]) if row[14] else None
        key = (row[13], calendar.pk if calendar else None)
        groups.setdefault(key, []).append(row[1])
        if row[15] is None and row[1] not in documenting:
            docs.setdefault(key, []).append(row[1])
    by_pk = {c.pk: c for c in calendars.values() if c is not None}
    for (severity, calendar_id), ids in groups.items():
        policy = policy_for(severity=severity)
        calendar = by_pk.get(calendar_id) if calendar_id else None
        target = hours(policy.cool_off_hours + policy.follow_up_hours)
        _insert_timers(
            ids,
            kind="follow_up",
            target=target,
            calendar=calendar,
            now=now,
            warn_at=now + hours(policy.cool_off_hours),
        )
        doc_ids = docs.get((severity, calendar_id), [])
        doc_target = hours(policy.document_hours)
        _insert_timers(
            doc_ids,
            kind="document",
            target=doc_target,
            calendar=calendar,
            now=now,
            warn_at=business_add(
                calendar=calendar,
                start=now,
                seconds=int(doc_target.total_seconds() * policy.warn_percent / 100),
            ),
        )


def _documenting(case_ids: list[int]) -> set[int]:
    table = connection.ops.quote_name(Timer._meta.db_table)
    match, params = id_match("subject_id", case_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT subject_id FROM {table} WHERE subject_type = 'case' "  # noqa: S608
            f"AND kind = 'document' AND met_at IS NULL AND {match}",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


def _insert_timers(
    case_ids: list[int],
    *,
    kind: str,
    target: timedelta,
    calendar: BusinessCalendar | None,
    now: datetime,
    warn_at: datetime | None,
) -> None:
    """Timers as timer_start writes them (see _next_fire there), one row per case."""
    if not case_ids:
        return
    seconds = int(target.total_seconds())
    due_at = business_add(calendar=calendar, start=now, seconds=seconds)
    next_fire = warn_at if warn_at and warn_at < due_at else due_at
    bulk_insert(
        Timer,
        varying={
            "id": allocate_ids(Timer, len(case_ids)),
            "subject_id": case_ids,
        },
        constant={
            "subject_type": "case",
            "kind": kind,
            "state": Timer.State.RUNNING,
            "calendar_id": calendar.pk if calendar else None,
            "target_seconds": seconds,
            "started_at": now,
            "due_at": due_at,
            "warn_at": warn_at,
            "escalation_period_seconds": seconds,
            "next_fire_at": next_fire,
            "escalation_level": 0,
            "fire_attempts": 0,
        },
        now=now,
    )
