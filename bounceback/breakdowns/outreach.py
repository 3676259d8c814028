"""The breakdown's work at scale: finding who is affected, contacting them, telling them.

This module decides who is reached, how and with which words; the cases app
writes the cases, their messages and timelines (cases/bulk.py for thousands,
the case services for a handful: the same rows either way), so a case opened
by outreach looks and behaves like any other on the case page and in the API.
Finding the affected customers is set-based SQL over their transactions.

Only breakdowns/services.py calls these, inside its own transactions, except
`run_chunk`, which is one transaction of its own.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from bounceback.actors import ActorLike
from bounceback.breakdowns.models import (
    AffectedCustomer,
    Breakdown,
    BreakdownMessage,
)
from bounceback.breakdowns.timeline import record_event
from bounceback.bulk import bulk_update, gc_paused, id_match
from bounceback.cases.bulk import (
    ProactiveContact,
    ProactiveOutreach,
    Wave,
    WaveCase,
    case_subject,
    cases_link_to_breakdown,
    cases_open_proactive,
    cases_send_wave,
)
from bounceback.cases.models import Case
from bounceback.cases.services import case_open_proactive, case_send_wave_message
from bounceback.customers.models import Channel, Customer, CustomerEmail, CustomerPhone
from bounceback.outbox.channels import usable_channels
from bounceback.outbox.services import outbox_stagger
from bounceback.playbooks.models import PlaybookTemplate, PlaybookVersion, TemplatePurpose
from bounceback.playbooks.selectors import template_for
from bounceback.playbooks.templating import (
    PLACEHOLDER_PATTERN,
    breakdown_values,
    customer_values,
    first_name,
    render,
)
from bounceback.timers.models import BusinessCalendar
from bounceback.transactions.models import Transaction

# Where a message on each channel is addressed.
ADDRESSED_BY_EMAIL = {Channel.EMAIL}
ADDRESSED_BY_PHONE = {Channel.SMS}
FIRST_MESSAGE = (TemplatePurpose.APOLOGY, TemplatePurpose.EXPLANATION, TemplatePurpose.ALTERNATIVES)
CUSTOMER_KEYS = ("customer.name", "customer.first_name", "case.reference")


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
                f"channel, language, last_wave) SELECT %s, m.customer_id, m.first, %s, '', '', 0 "
                f"FROM ({sql}) AS m(customer_id, first)"
                if connection.vendor == "postgresql"
                else f"INSERT INTO {table} (breakdown_id, customer_id, transaction_id, state, "  # noqa: S608
                f"channel, language, last_wave) SELECT %s, m.customer_id, m.first, %s, '', '', 0 "
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


def link_cases_to_breakdown(breakdown: Breakdown, *, actor: ActorLike, now: datetime) -> int:
    """At confirmation: the linked customers' own cases join the breakdown. No message."""
    case_ids = list(
        breakdown.affected.filter(state=AffectedCustomer.State.LINKED, case__isnull=False)
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )
    cases_link_to_breakdown(
        case_ids=case_ids,
        breakdown_id=breakdown.pk,
        summary=f"Linked to breakdown {breakdown.reference}: {breakdown.title}",
        data={"breakdown": breakdown.reference},
        actor=actor,
        now=now,
    )
    return len(case_ids)


def state_counts(breakdown: Breakdown) -> dict[str, int]:
    return dict(
        AffectedCustomer.objects.filter(breakdown=breakdown)
        .order_by()
        .values_list("state")
        .annotate(n=Count("*"))
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
    return case_subject("BB-?????", subject), render(composed.body, values).strip()


# --- The outreach, one chunk at a time ---------------------------------------------------------


def _primary_contacts() -> tuple[Subquery, Subquery]:
    """Each row's customer's primary email and phone (else the first stored), to annotate."""
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
    return Subquery(email), Subquery(phone)


def _pending_chunk(breakdown_id: int, size: int) -> list[tuple[Any, ...]]:
    """Claim up to `size` PENDING rows, oldest first, locked until the chunk commits.

    SKIP LOCKED: lanes side by side each take rows nobody else holds, so every
    customer is contacted exactly once (SQLite has one writer: no lock needed).
    """
    email, phone = _primary_contacts()
    return list(
        AffectedCustomer.objects.filter(
            breakdown_id=breakdown_id, state=AffectedCustomer.State.PENDING
        )
        .select_for_update(skip_locked=True, of=("self",))
        .annotate(email=email, phone=phone)
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


def _hold_breakdown(breakdown_id: int) -> None:
    """Lock the breakdown row FOR SHARE for the chunk's transaction: lanes write side
    by side, while pausing (FOR UPDATE) waits for their chunks and stops the next."""
    if connection.vendor != "postgresql":
        return  # SQLite: the IMMEDIATE transaction already holds the only write lock.
    table = connection.ops.quote_name(Breakdown._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR SHARE", [breakdown_id])  # noqa: S608


def run_chunk(*, breakdown_id: int, size: int) -> int | None:
    """Contact up to `size` PENDING customers in one transaction.

    Returns how many affected rows were processed (0: none left that nobody
    else holds), or None when the outreach must not go on (paused, not
    recovering, no such breakdown). Safe to run side by side: see _pending_chunk.
    `outreach_finish` writes the completion once the last chunk is in.
    """
    with gc_paused(), transaction.atomic():
        _hold_breakdown(breakdown_id)
        breakdown = (
            Breakdown.objects.select_related("site", "playbook_version__playbook", "confirmed_by")
            .filter(pk=breakdown_id)
            .first()
        )
        if (
            breakdown is None
            or breakdown.status != Breakdown.Status.RECOVERING
            or breakdown.outreach_paused
        ):
            return None
        rows = _pending_chunk(breakdown_id, size)
        if rows:
            _contact(breakdown, rows, actor=breakdown.confirmed_by)
        return len(rows)


def outreach_finish(*, breakdown_id: int) -> bool:
    """Once nobody is left PENDING: the outreach message's recipient count, and the
    "outreach complete" event, written once however many lanes or runs get here.

    Locks the breakdown FOR UPDATE, which waits for chunks still being written.
    Returns whether this call completed the outreach.
    """
    with transaction.atomic():
        breakdown = (
            Breakdown.objects.select_for_update(of=("self",))
            .select_related("confirmed_by")
            .filter(pk=breakdown_id)
            .first()
        )
        if (
            breakdown is None
            or breakdown.status != Breakdown.Status.RECOVERING
            or breakdown.outreach_paused
            or breakdown.affected.filter(state=AffectedCustomer.State.PENDING).exists()
            or breakdown.events.filter(kind="outreach_complete").exists()
        ):
            return False
        counts = state_counts(breakdown)
        queued = counts.get(AffectedCustomer.State.QUEUED, 0)
        unreachable = counts.get(AffectedCustomer.State.UNREACHABLE, 0)
        BreakdownMessage.objects.filter(
            breakdown=breakdown, kind=BreakdownMessage.Kind.OUTREACH
        ).update(recipients=queued)
        record_event(
            breakdown,
            kind="outreach_complete",
            summary=f"Outreach complete: {queued} messages queued, {unreachable} to call, "
            f"{counts.get(AffectedCustomer.State.LINKED, 0)} linked",
            data={"counts": counts},
            actor=breakdown.confirmed_by,
        )
        return True


# Up to this many customers a chunk is contacted one case at a time, through the
# case services; more, set-based (cases/bulk.py). Both write the same rows.
ONE_BY_ONE = 20


@dataclass
class _Plan:
    """Who a chunk reaches and how: a contact per reachable customer, in order."""

    contacts: list[ProactiveContact] = field(default_factory=list)
    reached: list[tuple[int, str]] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    composed: dict[tuple[str, str], Composed | None] = field(default_factory=dict)


def _plan(breakdown: Breakdown, rows: list[tuple[Any, ...]]) -> _Plan:
    """For each PENDING row: its channel and address, and the first message in the
    customer's language; without either, the customer goes on the call list."""
    common = breakdown_values(breakdown)
    plan = _Plan()
    usable = usable_channels()
    for row in rows:
        affected_id, customer_id, transaction_id, name, preferred, locale, email, phone = row
        choice = choose_channel(preferred, email, phone, usable=usable)
        if choice is None:
            plan.unreachable.append(affected_id)
            continue
        channel, address = choice
        key = (channel, locale or "en")
        if key not in plan.composed:
            plan.composed[key] = _compose(breakdown, common, channel, locale or "en")
        message = plan.composed[key]
        if message is None:
            plan.unreachable.append(affected_id)
            continue
        plan.contacts.append(
            ProactiveContact(
                customer_id=customer_id,
                customer_name=name,
                transaction_id=transaction_id,
                channel=channel,
                address=address,
                subject_template=message.subject,
                body_template=message.body,
            )
        )
        plan.reached.append((affected_id, message.language))
    return plan


def _contact(breakdown: Breakdown, rows: list[tuple[Any, ...]], *, actor: ActorLike) -> int:
    """Open the cases, log the apologies, queue the messages, mark the rows."""
    now = timezone.now()
    version = breakdown.playbook_version
    plan = _plan(breakdown, rows)
    contacts, reached, unreachable, composed = (
        plan.contacts,
        plan.reached,
        plan.unreachable,
        plan.composed,
    )
    outreach = ProactiveOutreach(
        breakdown_id=breakdown.pk,
        breakdown_reference=breakdown.reference or str(breakdown.pk),
        title=breakdown.title[:200],
        failure_mode_id=version.playbook.failure_mode_id,
        severity=breakdown.severity,
        site_id=breakdown.site_id,
        apology_score=_score(composed),
        batch=f"bd-{breakdown.pk}-outreach",
    )
    if len(contacts) <= ONE_BY_ONE:
        times = outbox_stagger(channels=[c.channel for c in contacts], now=now)
        opened = [
            case_open_proactive(
                outreach=outreach, contact=c, fill=_fill, actor=actor, now=now, send_at=at
            )
            for c, at in zip(contacts, times, strict=True)
        ]
    else:
        opened = cases_open_proactive(
            outreach=outreach, contacts=contacts, fill=_fill, actor=actor, now=now
        )
    count = len(opened)
    channels = [c.channel for c in contacts]
    bulk_update(
        AffectedCustomer,
        ids=[affected_id for affected_id, _ in reached],
        varying={
            "channel": channels,
            "language": [language for _, language in reached],
            "case_id": [o.case_id for o in opened],
            "message_id": [o.message_id for o in opened],
        },
        constant={"state": AffectedCustomer.State.QUEUED, "contacted_at": now},
    )
    bulk_update(
        AffectedCustomer, ids=unreachable, constant={"state": AffectedCustomer.State.UNREACHABLE}
    )
    # The outreach message's recipient count is written once by outreach_finish:
    # a counter updated by every chunk would queue the lanes behind its row lock.
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


# --- Waves to everyone with a case: status updates and the all-clear ---------------------------


WAVE_STATES = (AffectedCustomer.State.QUEUED, AffectedCustomer.State.LINKED)
_AFFECTED = connection.ops.quote_name(AffectedCustomer._meta.db_table)


def wave_rows_left(message: BreakdownMessage) -> Any:
    """The breakdown's rows whose case has not been sent `message` yet."""
    return AffectedCustomer.objects.filter(
        breakdown_id=message.breakdown_id,
        state__in=WAVE_STATES,
        case__isnull=False,
        last_wave__lt=message.pk,
    )


def _wave_cases(
    breakdown: Breakdown, *, usable: frozenset[str], affected_ids: Sequence[int]
) -> list[WaveCase]:
    """The cases of these affected rows, with the channel and address to reach each
    by: the outreach's own for a contacted customer, else the customer's preferred
    reachable one (none: the case is not messaged)."""
    email, phone = _primary_contacts()
    rows = list(
        # The chunk's ids as one parameter: thousands of placeholders cost psycopg
        # more time than the query.
        AffectedCustomer.objects.extra(  # noqa: S610 (the column is ours)
            where=[id_match(f"{_AFFECTED}.{connection.ops.quote_name('id')}", affected_ids)[0]],
            params=id_match("id", affected_ids)[1],
        )
        .annotate(email=email, phone=phone)
        .order_by("id")
        .values(
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
            "case__summary",
            "case__channel",
            "case__status",
            "case__apologised_at",
            "case__fixed_at",
            "case__documented_at",
            "case__severity",
            "case__timer_percent",
            "case__site_id",
        )
    )
    calendars = _calendars({row["case__site_id"] for row in rows if row["case__site_id"]})
    cases = []
    for row in rows:
        channel: str | None = row["channel"]
        address: str | None = row["message__to_address"]
        if not (row["state"] == AffectedCustomer.State.QUEUED and channel and address):
            choice = choose_channel(
                row["customer__preferred_channel"], row["email"], row["phone"], usable=usable
            )
            channel, address = choice if choice is not None else (None, None)
        cases.append(
            WaveCase(
                case_id=row["case_id"],
                reference=row["case__reference"] or "",
                summary=row["case__summary"],
                case_channel=row["case__channel"],
                customer_id=row["customer_id"],
                customer_name=row["customer__name"],
                status=row["case__status"],
                apologised_at=row["case__apologised_at"],
                fixed_at=row["case__fixed_at"],
                documented_at=row["case__documented_at"],
                severity=row["case__severity"],
                timer_percent=row["case__timer_percent"],
                calendar=calendars.get(row["case__site_id"]),
                channel=channel,
                address=address,
            )
        )
    return cases


def _calendars(site_ids: set[int]) -> dict[int, BusinessCalendar | None]:
    from bounceback.sites.models import Site

    if not site_ids:
        return {}
    return {
        site.pk: site.calendar
        for site in Site.objects.filter(pk__in=site_ids).select_related("calendar")
    }


# What each kind of wave says and does.
_WAVES = {
    BreakdownMessage.Kind.STATUS_UPDATE: ("update", "An update on the problem", False),
    BreakdownMessage.Kind.ALL_CLEAR: ("fixed", "Fixed", True),
}


def _wave_claim(message: BreakdownMessage, size: int, after: int) -> list[int]:
    """Up to `size` rows still to be sent `message`, past `after`, in id order, locked
    until the chunk commits; lanes side by side skip each other's rows."""
    return list(
        wave_rows_left(message)
        .filter(pk__gt=after)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("id")
        .values_list("pk", flat=True)[:size]
    )


def wave_chunk(
    *, message_id: int, size: int, after: int = 0, actor: ActorLike = None
) -> tuple[int, int] | None:
    """Send the wave `message` to up to `size` more cases, in one transaction.

    Returns (rows processed, the last row's id: where this lane claims next), or
    None when the message is no longer being sent. Each row is marked with the
    message (`last_wave`) in the same transaction, so a killed run resumes with
    the rows that did not get it, and no case gets it twice.
    """
    with gc_paused(), transaction.atomic():
        breakdown_id = (
            BreakdownMessage.objects.filter(pk=message_id)
            .values_list("breakdown_id", flat=True)
            .first()
        )
        if breakdown_id is None:
            return None
        _hold_breakdown(breakdown_id)
        message = (
            BreakdownMessage.objects.select_related(
                "breakdown__site", "breakdown__playbook_version__playbook", "sent_by"
            )
            .filter(pk=message_id, state=BreakdownMessage.State.SENDING)
            .first()
        )
        if message is None:
            return None
        ids = _wave_claim(message, size, after)
        if not ids:
            return 0, after
        _send_wave_to(message, ids, actor=actor if actor is not None else message.sent_by)
        bulk_update(AffectedCustomer, ids=ids, constant={"last_wave": message.pk})
        return len(ids), ids[-1]


def _send_wave_to(
    message: BreakdownMessage, affected_ids: Sequence[int], *, actor: ActorLike
) -> int:
    """The wave to these rows' cases. A few go one at a time through the case
    services, many set-based; both write the same rows."""
    breakdown = message.breakdown
    purpose, default_subject, fix = _WAVES[BreakdownMessage.Kind(message.kind)]
    common = breakdown_values(breakdown)
    # Every chunk writes the moment the message was sent: a case is fixed by the
    # all-clear when it was given, however long its chunk waited for a worker.
    now = message.sent_at
    wave = Wave(
        breakdown_reference=breakdown.reference or str(breakdown.pk),
        purpose=purpose,
        batch=message.batch,
        subject_template=_partial(message.subject, common),
        body_template=_partial(message.body, common),
        default_subject=default_subject,
        fix=fix,
        # Paused: the messages wait, held, until resumed (the all-clear releases them).
        held=breakdown.outreach_paused and not fix,
    )
    cases = _wave_cases(breakdown, usable=usable_channels(), affected_ids=affected_ids)
    if len(cases) > ONE_BY_ONE:
        return cases_send_wave(wave=wave, cases=cases, fill=_fill, actor=actor, now=now)
    reach = [c for c in cases if c.channel and c.address]
    times = iter(outbox_stagger(channels=[c.channel or "" for c in reach], now=now))
    for case in cases:
        send_at = next(times) if case.channel and case.address else None
        case_send_wave_message(
            wave=wave, target=case, fill=_fill, actor=actor, now=now, send_at=send_at
        )
    return len(reach)


def wave_finish(*, message_id: int, actor: ActorLike = None) -> bool:
    """Once every case has the wave: the message is SENT, its recipients counted from
    its outbox rows, and its event written, once however many lanes get here.

    Locks the breakdown FOR UPDATE, which waits for chunks still being written.
    Returns whether this call finished the message.
    """
    from bounceback.outbox.models import OutboundMessage

    with transaction.atomic():
        breakdown_id = (
            BreakdownMessage.objects.filter(pk=message_id)
            .values_list("breakdown_id", flat=True)
            .first()
        )
        if breakdown_id is None:
            return False
        breakdown = Breakdown.objects.select_for_update().get(pk=breakdown_id)
        message = (
            BreakdownMessage.objects.select_for_update(of=("self",))
            .select_related("sent_by")
            .filter(pk=message_id, state=BreakdownMessage.State.SENDING)
            .first()
        )
        if message is None or wave_rows_left(message).exists():
            return False
        now = timezone.now()
        sent = OutboundMessage.objects.filter(batch=message.batch).count()
        message.state = BreakdownMessage.State.SENT
        message.recipients = sent
        message.finished_at = now
        message.save(update_fields=["state", "recipients", "finished_at"])
        who = actor if actor is not None else message.sent_by
        plural = "s" if sent != 1 else ""
        if message.kind == BreakdownMessage.Kind.STATUS_UPDATE:
            number = breakdown.messages.filter(
                kind=BreakdownMessage.Kind.STATUS_UPDATE, pk__lte=message.pk
            ).count()
            record_event(
                breakdown,
                kind="update_sent",
                summary=f"Status update #{number} sent to {sent} customer{plural}",
                actor=who,
                data={"message_id": message.pk, "recipients": sent},
                at=now,
            )
        else:
            record_event(
                breakdown,
                kind="all_clear_sent",
                summary=f"All-clear sent to {sent} customer{plural}",
                actor=who,
                data={"message_id": message.pk, "recipients": sent},
                at=now,
            )
        return True
