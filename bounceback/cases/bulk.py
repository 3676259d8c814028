"""Many cases at once: a breakdown's outreach opens thousands of cases and sends them waves,
and a bulk action assigns, links, documents or closes a selection of any size.

These are the set-based forms of two case services, and write exactly the rows
those write for one case (a test compares the two paths column by column):

- `cases_open_proactive` is `case_open_proactive` for many customers: a case
  already apologised (the apology is the outreach's first message), its
  message, and its "opened" and "apologised" events.
- `cases_send_wave` is `case_send_wave_message` for many cases: a status
  update to each, or the all-clear, which also marks the cases fixed and
  starts their follow-up clocks.

Rules for callers (breakdowns/outreach.py): run inside your transaction, with
channels and addresses already chosen among those that can deliver; the
messages and timers are written through their own apps' set-based functions.
Cases opened here carry no timers: the apology is done as they open, and the
breakdown's checklist stands for the fix, so 100,000 fix timers would only
mean 100,000 escalations of one problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bounceback.actors import Actor, ActorLike, actor_of
from bounceback.bulk import allocate_ids, bulk_insert, bulk_update, id_match
from bounceback.cases.models import Case, CaseEvent
from bounceback.cases.policy import hours, policy_for
from bounceback.cases.timeline import NewCaseEvent, case_events_record_many
from bounceback.errors import ServiceError
from bounceback.interactions.models import Interaction
from bounceback.interactions.services import NewMessage, interactions_log_many
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import NewOutboundMessage, outbox_enqueue_many, outbox_stagger
from bounceback.timers.bulk import timers_meet_many, timers_start_many, timers_unmet_subjects
from bounceback.timers.models import BusinessCalendar
from bounceback.webhooks.events import case_payload_of

if TYPE_CHECKING:
    from bounceback.accounts.models import User
    from bounceback.failuremodes.models import FailureMode

SUBJECT = "case"
# (template, customer name, case reference) -> the text that customer reads.
Fill = Callable[[str, str, str], str]
DEFAULT_SUBJECT = "We're sorry"


def case_subject(reference: str, text: str) -> str:
    """The subject line of a message about a case: its reference first."""
    return f"[{reference}] {text}"[:300]


def case_reference(case_id: int) -> str:
    return f"BB-{case_id:05d}"


# --- Opening proactive cases ----------------------------------------------------------------


@dataclass(frozen=True)
class ProactiveOutreach:
    """What every case one outreach opens shares."""

    breakdown_id: int
    breakdown_reference: str
    title: str
    failure_mode_id: int | None
    severity: str
    site_id: int | None
    apology_score: int | None
    batch: str

    def opened_summary(self) -> str:
        return f"Case opened by proactive outreach for {self.breakdown_reference}: {self.title}"

    def apologised_summary(self) -> str:
        return f"Apology sent by proactive outreach for {self.breakdown_reference}"

    def event_data(self) -> dict[str, object]:
        return {"breakdown": self.breakdown_reference, "proactive": True}

    def message_metadata(self) -> dict[str, object]:
        return {"purpose": "apology", "breakdown": self.breakdown_reference}


@dataclass(frozen=True)
class ProactiveContact:
    """One customer to contact: how, and the templates of the first message."""

    customer_id: int
    customer_name: str
    transaction_id: int | None
    channel: str
    address: str
    subject_template: str
    body_template: str

    def message(self, reference: str, fill: Fill) -> tuple[str, str]:
        """(subject line, body) of the first message, for the case `reference`."""
        subject = fill(self.subject_template, self.customer_name, reference).strip()
        body = fill(self.body_template, self.customer_name, reference).strip()
        return case_subject(reference, subject or DEFAULT_SUBJECT), body


@dataclass(frozen=True)
class OpenedCase:
    case_id: int
    interaction_id: int
    message_id: int


def cases_open_proactive(
    *,
    outreach: ProactiveOutreach,
    contacts: Sequence[ProactiveContact],
    fill: Fill,
    actor: ActorLike,
    now: datetime,
) -> list[OpenedCase]:
    """Open one apologised case per contact, with its message queued at the channel's
    rate, set-based; returns the ids made, in the contacts' order."""
    count = len(contacts)
    if count == 0:
        return []
    who = actor_of(actor)
    case_ids = allocate_ids(Case, count)
    interaction_ids = allocate_ids(Interaction, count)
    message_ids = allocate_ids(OutboundMessage, count)
    references = [case_reference(pk) for pk in case_ids]
    texts = [c.message(ref, fill) for c, ref in zip(contacts, references, strict=True)]
    _insert_cases(outreach, contacts, case_ids=case_ids, who=who, now=now)
    _send_many(
        [
            _Outgoing(pk, c.customer_id, ref, c.channel, c.address, subject, body)
            for pk, c, ref, (subject, body) in zip(
                case_ids, contacts, references, texts, strict=True
            )
        ],
        who=who,
        now=now,
        metadata=outreach.message_metadata(),
        batch=outreach.batch,
        held=False,
        interaction_ids=interaction_ids,
        message_ids=message_ids,
    )
    _record_opened(outreach, contacts, case_ids, interaction_ids, who=who, now=now)
    return [
        OpenedCase(case_id=pk, interaction_id=iid, message_id=mid)
        for pk, iid, mid in zip(case_ids, interaction_ids, message_ids, strict=True)
    ]


def _insert_cases(
    outreach: ProactiveOutreach,
    contacts: Sequence[ProactiveContact],
    *,
    case_ids: list[int],
    who: Actor,
    now: datetime,
) -> None:
    bulk_insert(
        Case,
        varying={
            "id": case_ids,
            "reference": [case_reference(pk) for pk in case_ids],
            "customer_id": [c.customer_id for c in contacts],
            "transaction_id": [c.transaction_id for c in contacts],
            "channel": [c.channel for c in contacts],
        },
        constant={
            "summary": outreach.title,
            "failure_mode_id": outreach.failure_mode_id,
            "breakdown_id": outreach.breakdown_id,
            "proactive": True,
            "severity": outreach.severity,
            "site_id": outreach.site_id,
            "status": Case.Status.APOLOGISED,
            "apologised_at": now,
            "apology_score": outreach.apology_score,
            "created_by_id": who.user.pk if who.user is not None else None,
            "created_at": now,
            "updated_at": now,
        },
        now=now,
    )


def _record_opened(
    outreach: ProactiveOutreach,
    contacts: Sequence[ProactiveContact],
    case_ids: list[int],
    interaction_ids: list[int],
    *,
    who: Actor,
    now: datetime,
) -> None:
    """Each case's "opened" and "apologised" events, with their webhooks."""
    case_events_record_many(
        [NewCaseEvent(pk, CaseEvent.Kind.OPENED, outreach.opened_summary()) for pk in case_ids]
        + [
            NewCaseEvent(pk, CaseEvent.Kind.APOLOGISED, outreach.apologised_summary(), iid)
            for pk, iid in zip(case_ids, interaction_ids, strict=True)
        ],
        actor=who,
        at=now,
        data=outreach.event_data(),
        payloads={
            pk: case_payload_of(
                case_id=pk,
                reference=case_reference(pk),
                status=Case.Status.APOLOGISED,
                severity=outreach.severity,
                channel=c.channel,
                summary=outreach.title,
                customer_id=c.customer_id,
                customer_name=c.customer_name,
            )
            for pk, c in zip(case_ids, contacts, strict=True)
        },
    )


def cases_link_to_breakdown(
    *,
    case_ids: Sequence[int],
    breakdown_id: int,
    summary: str,
    data: dict[str, object],
    actor: ActorLike,
    now: datetime,
) -> None:
    """Join existing cases to a breakdown (its customers' own complaints), with an event each."""
    if not case_ids:
        return
    Case.objects.filter(pk__in=list(case_ids)).update(breakdown_id=breakdown_id, updated_at=now)
    case_events_record_many(
        [NewCaseEvent(pk, CaseEvent.Kind.LINKED_TO_BREAKDOWN, summary) for pk in case_ids],
        actor=actor,
        at=now,
        data=data,
        payloads={},
    )


# --- The messages: one outbound interaction and outbox message per case --------------------


@dataclass(frozen=True)
class _Outgoing:
    case_id: int
    customer_id: int
    reference: str
    channel: str
    address: str
    subject: str
    body: str


def _send_many(
    messages: Sequence[_Outgoing],
    *,
    who: Actor,
    now: datetime,
    metadata: dict[str, object],
    batch: str,
    held: bool,
    interaction_ids: list[int] | None = None,
    message_ids: list[int] | None = None,
) -> list[int]:
    """Each message on its case's timeline and in the outbox, spaced at the channels'
    rates from `now`, as case services' messages are; returns the interaction ids."""
    interaction_ids = interaction_ids or allocate_ids(Interaction, len(messages))
    interactions_log_many(
        ids=interaction_ids,
        messages=[
            NewMessage(
                customer_id=m.customer_id,
                case_id=m.case_id,
                channel=m.channel,
                subject=m.subject,
                body=m.body,
                thread_ref=m.reference,
            )
            for m in messages
        ],
        author=who,
        occurred_at=now,
        metadata=metadata,
    )
    outbox_enqueue_many(
        ids=message_ids,
        messages=[
            NewOutboundMessage(
                channel=m.channel,
                customer_id=m.customer_id,
                interaction_id=iid,
                to_address=m.address,
                subject=m.subject,
                body_text=m.body,
                headers={"X-Bounceback-Case": m.reference},
                send_at=at,
            )
            for m, iid, at in zip(
                messages,
                interaction_ids,
                outbox_stagger(channels=[m.channel for m in messages], now=now),
                strict=True,
            )
        ],
        batch=batch,
        held=held,
        now=now,
    )
    return interaction_ids


# --- Waves: a status update or the all-clear to every case ------------------------------------


@dataclass(frozen=True)
class Wave:
    """One message a breakdown sends to all its cases."""

    breakdown_reference: str
    purpose: str
    batch: str
    subject_template: str
    body_template: str
    default_subject: str
    # The all-clear: the cases are fixed by it (with the message as the fix summary).
    fix: bool
    # The breakdown's outreach is paused: the messages wait, held.
    held: bool

    def event_summary(self, *, fixed: bool) -> str:
        ref = self.breakdown_reference
        if fixed:
            return f"Fixed: {ref} all-clear"
        if self.fix:
            return f"All-clear for breakdown {ref} sent"
        return f"Progress update for {ref} sent"


@dataclass(frozen=True)
class WaveCase:
    """A case on the breakdown, as the wave needs it; no channel means it is not messaged."""

    case_id: int
    reference: str
    summary: str
    case_channel: str
    customer_id: int
    customer_name: str
    status: str
    apologised_at: datetime | None
    fixed_at: datetime | None
    documented_at: datetime | None
    severity: str
    timer_percent: int
    calendar: BusinessCalendar | None
    channel: str | None = None
    address: str | None = None

    @property
    def fixable(self) -> bool:
        """The all-clear fixes it: apologised, not fixed yet, and not closed or waiting."""
        return (
            self.apologised_at is not None
            and self.fixed_at is None
            and self.status not in {Case.Status.CLOSED, Case.Status.WAITING}
        )

    def message(self, wave: Wave, fill: Fill) -> tuple[str, str]:
        subject = fill(wave.subject_template, self.customer_name, self.reference).strip()
        body = fill(wave.body_template, self.customer_name, self.reference).strip()
        return case_subject(self.reference, subject or wave.default_subject), body


def cases_send_wave(
    *, wave: Wave, cases: Sequence[WaveCase], fill: Fill, actor: ActorLike, now: datetime
) -> int:
    """Send the wave to every case that has a channel; returns how many messages.

    A status update records an update on each case reached (an apologised case
    is now being fixed) and meets its fix and update clocks; the all-clear
    marks each fixable case fixed, meets those clocks and starts its
    follow-up (and documentation) clocks, as case_mark_fixed does.
    """
    who = actor_of(actor)
    reach = [c for c in cases if c.channel and c.address]
    count = len(reach)
    interaction_ids = _send_many(
        [
            _Outgoing(
                c.case_id,
                c.customer_id,
                c.reference,
                c.channel or "",
                c.address or "",
                *c.message(wave, fill),
            )
            for c in reach
        ],
        who=who,
        now=now,
        metadata={"purpose": wave.purpose, "breakdown": wave.breakdown_reference},
        batch=wave.batch,
        held=wave.held,
    )
    by_case = {c.case_id: iid for c, iid in zip(reach, interaction_ids, strict=True)}
    fixable = [c for c in cases if wave.fix and c.fixable]
    _record_wave(wave, cases, fixable, by_case, who=who, now=now)
    if not wave.fix:
        _cases_updated(list(by_case), now)
        timers_meet_many(
            subject_type=SUBJECT, subject_ids=list(by_case), kinds=("fix", "update"), at=now
        )
        return count
    bulk_update(
        Case,
        ids=[c.case_id for c in fixable],
        varying={
            "fix_summary": [
                fill(wave.body_template, c.customer_name, c.reference).strip() for c in fixable
            ]
        },
        constant={"status": Case.Status.FIXED, "fixed_at": now, "updated_at": now},
    )
    timers_meet_many(
        subject_type=SUBJECT,
        subject_ids=[c.case_id for c in fixable],
        kinds=("fix", "update"),
        at=now,
    )
    _start_follow_ups(fixable, now)
    return count


def _record_wave(
    wave: Wave,
    cases: Sequence[WaveCase],
    fixable: Sequence[WaveCase],
    by_case: dict[int, int],
    *,
    who: Actor,
    now: datetime,
) -> None:
    """ "fixed" for the cases the all-clear fixes, "update_sent" for the others reached."""
    fixed_ids = {c.case_id for c in fixable}
    events = [
        NewCaseEvent(
            c.case_id,
            CaseEvent.Kind.FIXED if c.case_id in fixed_ids else CaseEvent.Kind.UPDATE_SENT,
            wave.event_summary(fixed=c.case_id in fixed_ids),
            by_case.get(c.case_id),
        )
        for c in cases
        if c.case_id in fixed_ids or c.case_id in by_case
    ]
    case_events_record_many(
        events,
        actor=who,
        at=now,
        data={"breakdown": wave.breakdown_reference},
        payloads={
            c.case_id: case_payload_of(
                case_id=c.case_id,
                reference=c.reference,
                status=Case.Status.FIXED,
                severity=c.severity,
                channel=c.case_channel,
                summary=c.summary,
                customer_id=c.customer_id,
                customer_name=c.customer_name,
            )
            for c in fixable
        },
    )


def _cases_updated(case_ids: list[int], now: datetime) -> None:
    """As case_send_update: the update is recorded, an apologised case is now being fixed."""
    from django.db import connection

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


def _start_follow_ups(fixable: Sequence[WaveCase], now: datetime) -> None:
    """The follow-up (and documentation) clocks case_mark_fixed starts, for many cases.

    Every case starts now, so cases with the same severity, calendar and timer
    share share their due times: the targets are worked out once per group,
    which keeps opening hours exact without a calculation per case.
    """
    if not fixable:
        return
    documenting = timers_unmet_subjects(
        subject_type=SUBJECT,
        kind="document",
        subject_ids=[c.case_id for c in fixable if c.documented_at is None],
    )
    groups: dict[tuple[str, int | None, int], list[WaveCase]] = {}
    for case in fixable:
        key = (case.severity, case.calendar.pk if case.calendar else None, case.timer_percent)
        groups.setdefault(key, []).append(case)
    for (severity, _calendar_id, percent), members in groups.items():
        policy = policy_for(severity=severity)
        calendar = members[0].calendar
        cool_off_ends = now + hours(policy.cool_off_hours)
        timers_start_many(
            subject_type=SUBJECT,
            subject_ids=[c.case_id for c in members],
            kind="follow_up",
            target=hours(policy.cool_off_hours + policy.follow_up_hours) * percent / 100,
            calendar=calendar,
            start=now,
            warn_fraction=policy.warn_percent / 100,
            warn_at=cool_off_ends,
        )
        timers_start_many(
            subject_type=SUBJECT,
            subject_ids=[
                c.case_id
                for c in members
                if c.documented_at is None and c.case_id not in documenting
            ],
            kind="document",
            target=hours(policy.document_hours) * percent / 100,
            calendar=calendar,
            start=now,
            warn_fraction=policy.warn_percent / 100,
        )


# --- The inbox's next due time ---------------------------------------------------------------


def cases_next_due_refresh(case_ids: Sequence[int], earliest: datetime | None) -> None:
    """Keep `Case.next_due_at` true after the timers services changed these cases' timers.

    Registered with timers.handlers.due_register and called inside the timer's
    transaction. Timers just started (`earliest` is their due time) can only
    bring the next due time forward: one conditional UPDATE. Anything else
    (met, cancelled, paused) recounts it from the case's unmet running or
    breached timers, through the timers' subject index. (Unmet and neither paused
    nor cancelled is running or breached, said so that no index on the state
    looks usable: SQLite without statistics would pick one and scan every
    timer once per case.)
    """
    from django.db import connection

    from bounceback.timers.models import Timer

    if not case_ids:
        return
    table = connection.ops.quote_name(Case._meta.db_table)
    match, params = id_match("id", list(case_ids))
    with connection.cursor() as cursor:
        if earliest is not None:
            stamp = (
                earliest
                if connection.vendor == "postgresql"
                else connection.ops.adapt_datetimefield_value(earliest)
            )
            cursor.execute(
                f"UPDATE {table} SET next_due_at = %s "  # noqa: S608
                f"WHERE {match} AND (next_due_at IS NULL OR next_due_at > %s)",
                [stamp, *params, stamp],
            )
            return
        timers = connection.ops.quote_name(Timer._meta.db_table)
        cursor.execute(
            f"UPDATE {table} SET next_due_at = (SELECT MIN(t.due_at) FROM {timers} t "  # noqa: S608
            f"WHERE t.subject_type = %s AND t.subject_id = {table}.id AND t.met_at IS NULL "
            f"AND t.state NOT IN (%s, %s)) WHERE {match}",
            [SUBJECT, Timer.State.PAUSED, Timer.State.CANCELLED, *params],
        )


# --- Acting on a selection: the case page's steps for many cases ------------------------------
#
# The set-based forms of case_assign, case_update(failure_mode=), case_link,
# case_document and case_close, for the cases of one chunk of a bulk action
# (cases.services.cases_bulk_apply), which has locked them in id order and
# loaded each with its customer, assignee, team and failure mode. Each returns
# the cases it changed and, for each it would not, the refusal the service
# raises (the checks are the services' own): a refused case is left exactly as
# it was. test_bulk_actions compares every row with the services' column by column.

CASE_TIMER_KINDS = ("apologise", "fix", "update", "follow_up", "document")
Refused = list[tuple[Case, ServiceError]]


def _shown(value: object) -> str | None:
    return str(value) if value is not None else None


def cases_assign_many(
    *, cases: Sequence[Case], assignee: User | None, actor: ActorLike, now: datetime
) -> list[Case]:
    """case_assign for each case: to `assignee` and their team (or nobody, keeping the
    case's team), with an "assigned" event each, even when nothing changed."""
    if not cases:
        return []
    befores = [(_shown(c.assignee), _shown(c.team), c.team_id, c.team) for c in cases]
    events = []
    team_ids = []
    for case, (assignee_was, team_was, team_id, team) in zip(cases, befores, strict=True):
        if assignee is not None:
            team_id, team = assignee.team_id, assignee.team
        case.assignee, case.team_id = assignee, team_id
        case.updated_at = now
        team_ids.append(team_id)
        after = [_shown(assignee), _shown(team)]
        events.append(
            NewCaseEvent(
                case.pk,
                CaseEvent.Kind.ASSIGNED,
                f"Assigned to {after[0] or 'nobody'}" + (f" ({after[1]})" if after[1] else ""),
                data={"assignee": [assignee_was, after[0]], "team": [team_was, after[1]]},
            )
        )
    bulk_update(
        Case,
        ids=[c.pk for c in cases],
        varying={"team_id": team_ids},
        constant={"assignee_id": assignee.pk if assignee else None, "updated_at": now},
    )
    case_events_record_many(events, actor=actor, at=now, data={}, payloads={})
    return list(cases)


def cases_set_failure_mode_many(
    *, cases: Sequence[Case], failure_mode: FailureMode, actor: ActorLike, now: datetime
) -> list[Case]:
    """case_update(failure_mode=) for each case (the mode is checked accepted by the
    caller): an "updated" event on each case whose mode changed; the others stay as they are."""
    changing = [c for c in cases if c.failure_mode_id != failure_mode.pk]
    events = [
        NewCaseEvent(
            c.pk,
            CaseEvent.Kind.UPDATED,
            "Changed failure_mode",
            data={"failure_mode": [_shown(c.failure_mode), _shown(failure_mode)]},
        )
        for c in changing
    ]
    for case in changing:
        case.failure_mode, case.updated_at = failure_mode, now
    bulk_update(
        Case,
        ids=[c.pk for c in changing],
        constant={"failure_mode_id": failure_mode.pk, "updated_at": now},
    )
    case_events_record_many(events, actor=actor, at=now, data={}, payloads={})
    return list(cases)


def cases_link_many(
    *, cases: Sequence[Case], anchor: Case, actor: ActorLike, now: datetime
) -> list[Case]:
    """case_link(other=anchor) for each case but the anchor: a "related" link and a
    "linked" event where there was no link yet; returns the cases linked (or already)."""
    from bounceback.cases.models import CaseLink

    others = [c for c in cases if c.pk != anchor.pk]
    linked = set(
        CaseLink.objects.filter(
            from_case_id__in=[c.pk for c in others], to_case_id=anchor.pk
        ).values_list("from_case_id", flat=True)
    )
    new = [c for c in others if c.pk not in linked]
    bulk_insert(
        CaseLink,
        varying={"from_case_id": [c.pk for c in new]},
        constant={"to_case_id": anchor.pk, "kind": CaseLink.Kind.RELATED, "created_at": now},
        now=now,
    )
    case_events_record_many(
        [
            NewCaseEvent(c.pk, CaseEvent.Kind.LINKED, f"Linked to {anchor.reference} (related)")
            for c in new
        ],
        actor=actor,
        at=now,
        data={"case": anchor.reference, "kind": CaseLink.Kind.RELATED},
        payloads={},
    )
    return others


DOCUMENTATION = ("root_cause", "what_was_done", "prevention_idea")


def _document_refusal(case: Case) -> ServiceError | None:
    from bounceback.cases.services import case_check_can_document

    try:
        case_check_can_document(case=case)
    except ServiceError as refusal:
        return refusal
    return None


def _close_refusal(case: Case) -> ServiceError | None:
    from bounceback.cases.services import case_check_can_close

    try:
        case_check_can_close(case=case)
    except ServiceError as refusal:
        return refusal
    return None


def _document_write(
    cases: Sequence[Case], documentation: dict[str, str], *, actor: ActorLike, now: datetime
) -> None:
    """case_document's writes for cases it accepts: the texts, the "documented" event with
    what changed, the documentation clock met."""
    events = []
    changed = []
    for case in cases:
        diff = {
            name: [getattr(case, name), value]
            for name, value in documentation.items()
            if getattr(case, name) != value
        }
        if diff or case.documented_at != now:
            changed.append(case)
        for name, value in documentation.items():
            setattr(case, name, value)
        case.documented_at = case.updated_at = now
        events.append(
            NewCaseEvent(
                case.pk,
                CaseEvent.Kind.DOCUMENTED,
                "Root cause and prevention documented",
                data=diff,
            )
        )
    bulk_update(
        Case,
        ids=[c.pk for c in changed],
        constant={**documentation, "documented_at": now, "updated_at": now},
    )
    case_events_record_many(events, actor=actor, at=now, data={}, payloads={})
    timers_meet_many(
        subject_type=SUBJECT, subject_ids=[c.pk for c in cases], kinds=("document",), at=now
    )


def cases_document_many(
    *, cases: Sequence[Case], documentation: dict[str, str], actor: ActorLike, now: datetime
) -> tuple[list[Case], Refused]:
    """case_document for each case with one shared documentation (checked by the caller)."""
    done: list[Case] = []
    refused: Refused = []
    for case in cases:
        refusal = _document_refusal(case)
        if refusal is None:
            done.append(case)
        else:
            refused.append((case, refusal))
    _document_write(done, documentation, actor=actor, now=now)
    return done, refused


def cases_close_many(
    *,
    cases: Sequence[Case],
    actor: ActorLike,
    now: datetime,
    documentation: dict[str, str] | None = None,
) -> tuple[list[Case], Refused]:
    """case_close for each case, after case_document when `documentation` is given (a case
    either step refuses is left as it was): closed, running timers cancelled, breached
    ones met, a "closed" event and its case.closed webhook each."""
    from django.db import connection

    from bounceback.timers.handlers import due_changed
    from bounceback.timers.models import Timer
    from bounceback.webhooks.events import case_payload

    done: list[Case] = []
    refused: Refused = []
    for case in cases:
        refusal = _document_refusal(case) if documentation else None
        if refusal is None:
            # Whether it may close once documented: judged on the documented case.
            documented_at = case.documented_at
            if documentation:
                case.documented_at = now
            refusal = _close_refusal(case)
            case.documented_at = documented_at
        if refusal is None:
            done.append(case)
        else:
            refused.append((case, refusal))
    if documentation:
        _document_write(done, documentation, actor=actor, now=now)
    ids = [c.pk for c in done]
    if not ids:
        return done, refused
    for case in done:
        case.status, case.closed_at, case.updated_at = Case.Status.CLOSED, now, now
    bulk_update(
        Case, ids=ids, constant={"status": Case.Status.CLOSED, "closed_at": now, "updated_at": now}
    )
    table = connection.ops.quote_name(Timer._meta.db_table)
    match, params = id_match("subject_id", ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, next_fire_at = NULL "  # noqa: S608
            f"WHERE subject_type = %s AND state IN (%s, %s) AND {match}",
            [Timer.State.CANCELLED, SUBJECT, Timer.State.RUNNING, Timer.State.PAUSED, *params],
        )
    due_changed(SUBJECT, ids, None)
    timers_meet_many(subject_type=SUBJECT, subject_ids=ids, kinds=CASE_TIMER_KINDS, at=now)
    case_events_record_many(
        [NewCaseEvent(c.pk, CaseEvent.Kind.CLOSED, "Case closed") for c in done],
        actor=actor,
        at=now,
        data={},
        payloads={c.pk: case_payload(c) for c in done},
    )
    return done, refused
