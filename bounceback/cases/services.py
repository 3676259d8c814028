"""The recovery sequence: open, apologise, review, fix, follow up, document, close.

Rules for callers:
- Every change to a case goes through a function here. Each locks the case row
  first (then its timers), checks the step is allowed (raising Conflict with
  the reason when it is not), writes, and records a CaseEvent, all in one
  transaction.
- Messages to the customer are written to the outbox in that same transaction.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from bounceback.actors import Actor, ActorLike, actor_of
from bounceback.cases.bulk import (
    Fill,
    OpenedCase,
    ProactiveContact,
    ProactiveOutreach,
    Wave,
    WaveCase,
    case_reference,
)
from bounceback.cases.hooks import case_opened_announce
from bounceback.cases.models import (
    Case,
    CaseBulkRun,
    CaseEvent,
    CaseLink,
    CaseViewer,
    Severity,
)
from bounceback.cases.policy import hours, minutes, policy_for
from bounceback.cases.selectors import SPOKEN, reply_channel_for
from bounceback.cases.timeline import case_event_record
from bounceback.changes import changes_apply
from bounceback.coach.scoring import CoachContext, CoachResult, coach_score
from bounceback.customers.models import Channel, Customer
from bounceback.errors import Conflict, ServiceError, ValidationFailed
from bounceback.failuremodes.services import accepted_failure_mode
from bounceback.inputs import text_field
from bounceback.interactions.models import Interaction
from bounceback.interactions.services import interaction_log
from bounceback.outbox.channels import usable_channels
from bounceback.outbox.services import outbox_enqueue
from bounceback.timers.models import Timer
from bounceback.timers.services import (
    timer_cancel,
    timer_meet,
    timer_pause,
    timer_resume,
    timer_start,
)

if TYPE_CHECKING:
    from bounceback.accounts.models import Team, User
    from bounceback.background.models import Job
    from bounceback.cases.models import RecoveryPolicy
    from bounceback.failuremodes.models import FailureMode
    from bounceback.sites.models import Site
    from bounceback.transactions.models import Transaction

SUBJECT = "case"


class TimerKind:
    APOLOGISE = "apologise"
    FIX = "fix"
    UPDATE = "update"
    FOLLOW_UP = "follow_up"
    DOCUMENT = "document"


# --- Helpers --------------------------------------------------------------------------


def _lock(case: Case) -> Case:
    """Reload the case under a row lock; every service starts here."""
    return (
        # Lock the case row only: PostgreSQL cannot lock the nullable side of
        # the outer join to the site and its calendar.
        Case.objects.select_for_update(of=("self",))
        .select_related("customer", "site__calendar")
        .get(pk=case.pk)
    )


def _timers(case: Case, *kinds: str) -> list[Timer]:
    rows = Timer.objects.for_subject(SUBJECT, case.pk).select_for_update().order_by("id")
    if kinds:
        rows = rows.filter(kind__in=kinds)
    return list(rows)


def _start(
    case: Case,
    kind: str,
    target: timedelta,
    *,
    policy: RecoveryPolicy | None = None,
    **kwargs: Any,
) -> Timer:
    # The caller's policy when it has read it already: one query less per step.
    policy = policy or policy_for(severity=case.severity)
    calendar = case.site.calendar if case.site_id and case.site else None
    return timer_start(
        subject_type=SUBJECT,
        subject_id=case.pk,
        kind=kind,
        # Segments' shorter timers: the share was fixed on the case when it opened.
        target=target * case.timer_percent / 100 if case.timer_percent != 100 else target,
        calendar=calendar,
        warn_fraction=policy.warn_percent / 100,
        **kwargs,
    )


def _meet(case: Case, *kinds: str, at: datetime | None = None) -> None:
    for timer in _timers(case, *kinds):
        if timer.state in {Timer.State.RUNNING, Timer.State.PAUSED, Timer.State.BREACHED}:
            timer_meet(timer=timer, at=at)


def _refuse(message: str, field: str | None = None) -> Conflict:
    return Conflict(message, field=field, code="invalid_transition")


def _require_open(case: Case) -> None:
    if case.status == Case.Status.CLOSED:
        raise _refuse(f"case {case.reference} is closed; reopen it first")
    if case.status == Case.Status.WAITING:
        raise _refuse(f"case {case.reference} is waiting on the customer; resume it first")


def _require_apologised(case: Case) -> None:
    _require_open(case)
    if case.apologised_at is None:
        raise _refuse("apologise to the customer first: the first reply must be an apology")


def _recipient(case: Case, channel: str) -> str:
    """Where a message on `channel` reaches this customer; refuses when we know of nowhere."""
    customer = case.customer
    if channel in (Channel.EMAIL, Channel.WEB):
        # A portal message is announced by email with a link to the portal.
        address = customer.primary_email or ""
        missing = f"{customer.name} has no email address; add one or choose another channel"
    elif channel == Channel.SMS:
        address = customer.primary_phone or ""
        missing = f"{customer.name} has no phone number; add one or choose another channel"
    else:
        # Chat and social: answer the conversation this case came from, else
        # the one the customer last wrote from.
        inbound = Interaction.objects.filter(
            customer=customer, channel=channel, direction=Interaction.Direction.INBOUND
        ).order_by("-occurred_at", "-id")
        last = inbound.filter(case=case).values_list("metadata", flat=True).first() or (
            inbound.values_list("metadata", flat=True).first()
        )
        address = str((last or {}).get("sender", ""))
        missing = f"{customer.name} has never written to us by {channel}; choose another channel"
    if not address:
        raise ValidationFailed(missing, field="channel")
    return address


def _send(
    case: Case, *, actor: ActorLike, body: str, subject: str, channel: str | None, purpose: str
) -> Interaction:
    """Record a message to the customer and, where we deliver it, queue it in the outbox.

    Without a channel the message goes where the customer last spoke to us
    (`reply_channel_for`); staff may name another.
    """
    usable = usable_channels()
    channel = channel or reply_channel_for(case, usable)
    if channel not in Channel.values:
        raise ValidationFailed(f"unknown channel {channel!r}", field="channel")
    if channel not in SPOKEN and channel not in usable:
        raise ValidationFailed(
            f"messages cannot be sent by {channel} here: send an email, or call the customer "
            "and log the call (channel phone)",
            field="channel",
        )
    to_address = "" if channel in SPOKEN else _recipient(case, channel)
    interaction = interaction_log(
        customer=case.customer,
        case=case,
        channel=channel,
        direction=Interaction.Direction.OUTBOUND,
        body=body,
        subject=subject,
        author=actor,
        thread_ref=case.reference or "",
        source="bounceback",
        metadata={"purpose": purpose},
    )
    if channel in SPOKEN:
        return interaction
    headers = {"X-Bounceback-Case": case.reference or str(case.pk)}
    if channel == Channel.EMAIL:
        from bounceback.mail.outgoing import case_email

        email = case_email(case=case, subject=subject, body=body)
        outbox_enqueue(
            channel=channel,
            to_address=to_address,
            subject=email.subject,
            body_text=email.body_text,
            body_html=email.body_html,
            reply_to=email.reply_to,
            in_reply_to=email.in_reply_to,
            references=email.references,
            customer=case.customer,
            interaction=interaction,
            headers=headers,
        )
    else:
        outbox_enqueue(
            channel=channel,
            to_address=to_address,
            subject=subject,
            body_text=body,
            customer=case.customer,
            interaction=interaction,
            headers=headers,
        )
    return interaction


def _subject(case: Case, text: str) -> str:
    return f"[{case.reference}] {text}"


# --- Opening and editing ------------------------------------------------------------------


# Long on purpose: checks of every field, then the case, its segments' approach and its
# first timer, in one transaction.
@transaction.atomic
def case_open(
    *,
    customer: Customer,
    summary: str,
    actor: ActorLike,
    description: str = "",
    channel: str = Channel.EMAIL,
    failure_mode: FailureMode | None = None,
    severity: str = Severity.NORMAL,
    site: Site | None = None,
    related_transaction: Transaction | None = None,
    assignee: User | None = None,
    team: Team | None = None,
    opened_at: datetime | None = None,
    proactive: bool = False,
) -> Case:
    """Open a case for `customer`: it starts with the apology timer running.

    The customer's segments may raise the severity, shorten every timer of the
    case and ask for senior handling (that role is told). Refuses an unknown
    channel or severity, a transaction of another customer, a disabled assignee
    and a failure mode the catalog does not stand behind. Publishes case.opened
    (never for a drill's customer, whose case is a drill case).
    `proactive`: we open it before the customer complains (a discovery rule's
    contact). The hooks in cases/hooks.py see the case in this transaction."""
    summary = text_field(summary, field="summary", max_length=200, required=True)
    description = text_field(description, field="description")
    if channel not in Channel.values:
        raise ValidationFailed(
            f"channel must be one of {', '.join(Channel.values)}", field="channel"
        )
    if severity not in Severity.values:
        raise ValidationFailed(
            f"severity must be one of {', '.join(Severity.values)}", field="severity"
        )
    if related_transaction is not None and related_transaction.customer_id != customer.pk:
        raise ValidationFailed(
            "that transaction belongs to another customer", field="transaction_id"
        )
    if assignee is not None and not assignee.is_active:
        raise ValidationFailed("the assignee's account is disabled", field="assignee_id")
    accepted_failure_mode(failure_mode)
    if team is None and assignee is not None:
        team = assignee.team
    if assignee is None and team is not None:
        # The team's rule (round robin, least loaded) picks the person, if it has one.
        from bounceback.accounts.services import team_next_assignee

        assignee = team_next_assignee(team=team)
    opened = opened_at or timezone.now()
    from bounceback.segments import selectors as segments
    from bounceback.segments import services as segment_services

    # The customer's segments may raise the severity, shorten every timer of
    # the case (fixed here, applied in _start) and ask for senior handling.
    approach = segments.customer_approach(customer)
    requested_severity, severity = severity, approach.severity_for(severity)
    from bounceback.discovery.negativity import score

    case = Case.objects.create(
        negativity=score(description) if description else None,
        customer=customer,
        # A drill's synthetic customer makes a drill case: sandboxed everywhere.
        drill_id=customer.drill_id,
        summary=summary,
        description=description,
        channel=channel,
        failure_mode=failure_mode,
        severity=severity,
        timer_percent=approach.timer_percent,
        site=site,
        transaction=related_transaction,
        assignee=assignee,
        team=team,
        created_by=actor_of(actor).user,
        created_at=opened,
        proactive=proactive,
    )
    case.reference = f"BB-{case.pk:05d}"
    case.save(update_fields=["reference"])
    opened_data = approach.opened_data(requested_severity)
    case_event_record(
        case,
        kind=CaseEvent.Kind.OPENED,
        summary=f"Case opened: {summary}",
        actor=actor,
        at=opened,
        data=opened_data,
    )
    if approach.senior_handling:
        segment_services.segment_senior_handling_notify(
            case=case,
            role=approach.senior_handling,
            segment_names=[brief.name for brief in approach.segments],
        )
    segment_services.segment_memberships_refresh_later(customer_ids=[customer.pk])
    policy = policy_for(severity=severity)
    _start(
        case, TimerKind.APOLOGISE, minutes(policy.apologise_minutes), policy=policy, start=opened
    )
    case_opened_announce(case)
    return case


_EDITABLE = {"summary", "description", "failure_mode", "severity", "site"}


@transaction.atomic
def case_update(*, case: Case, actor: ActorLike, **changes: Any) -> Case:
    """Edit the case's details; each change is recorded with before and after."""
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValidationFailed(f"cannot change {min(unknown)} here", field=min(unknown))
    case = _lock(case)
    if "summary" in changes:
        changes["summary"] = text_field(
            changes["summary"], field="summary", max_length=200, required=True
        )
    if "severity" in changes and changes["severity"] not in Severity.values:
        raise ValidationFailed(
            f"severity must be one of {', '.join(Severity.values)}", field="severity"
        )
    if "failure_mode" in changes and changes["failure_mode"] != case.failure_mode:
        # A case keeps a link made before its mode was retired, but a new link
        # must be to a mode the catalog stands behind.
        accepted_failure_mode(changes["failure_mode"])
    diff = changes_apply(case, changes)
    if "description" in diff:
        from bounceback.discovery.negativity import score

        case.negativity = score(case.description) if case.description else None
        case.save(update_fields=["negativity"])
    if diff:
        case_event_record(
            case,
            kind=CaseEvent.Kind.UPDATED,
            summary=f"Changed {', '.join(diff)}",
            actor=actor,
            data={name: [_shown(before), _shown(after)] for name, (before, after) in diff.items()},
        )
    return case


def _shown(value: Any) -> str | None:
    """A value as the timeline keeps it (the name of a related row, not its id)."""
    return str(value) if value is not None else None


@transaction.atomic
def case_assign(
    *, case: Case, actor: ActorLike, assignee: User | None, team: Team | None = None
) -> Case:
    """Give the case to a person (and their team unless one is named), or to nobody.

    Locks the case; refuses a disabled assignee; always records the event."""
    case = _lock(case)
    if assignee is not None and not assignee.is_active:
        raise ValidationFailed("the assignee's account is disabled", field="assignee_id")
    team = team if team is not None else (assignee.team if assignee else case.team)
    before = [str(case.assignee) if case.assignee else None, str(case.team) if case.team else None]
    case.assignee = assignee
    case.team = team
    case.save(update_fields=["assignee", "team", "updated_at"])
    after = [str(assignee) if assignee else None, str(team) if team else None]
    case_event_record(
        case,
        kind=CaseEvent.Kind.ASSIGNED,
        summary=f"Assigned to {after[0] or 'nobody'}" + (f" ({after[1]})" if after[1] else ""),
        actor=actor,
        data={"assignee": [before[0], after[0]], "team": [before[1], after[1]]},
    )
    return case


# --- Step 1: apologise ----------------------------------------------------------------------


def case_coach(*, case: Case, text: str, language: str | None = None) -> CoachResult:
    """Score a draft apology against the policy threshold for this case.

    The case's facts go to the coach so its suggested rewrite can name the
    failure, the customer and the next step already agreed, and promise news
    within the policy's update cadence.
    """
    policy = policy_for(severity=case.severity)
    context = CoachContext(
        summary=case.summary,
        description=case.description,
        customer_name=case.customer.name,
        next_step=case.proposed_fix or case.fix_summary,
        update_minutes=policy.update_minutes,
    )
    return coach_score(
        text=text, threshold=policy.apology_threshold, context=context, language=language
    )


@transaction.atomic
def case_apologise(
    *,
    case: Case,
    actor: ActorLike,
    body: str,
    subject: str = "",
    channel: str | None = None,
    override_reason: str = "",
) -> Case:
    """Send the apology: the first reply. Below the coach threshold it needs an override."""
    case = _lock(case)
    _require_open(case)
    if case.apologised_at is not None:
        raise _refuse("the apology was already sent; send a progress update instead")
    body = text_field(body, field="body", required=True)
    result = case_coach(case=case, text=body)
    override_reason = override_reason.strip()
    if not result.passed and not override_reason:
        problems = "; ".join(f.message for f in result.findings if f.kind != "good")
        raise ValidationFailed(
            f"the apology scores {result.score}, below the policy's {result.threshold}: "
            f"{problems} Improve it, or send anyway with an override reason.",
            field="body",
            code="apology_below_threshold",
        )
    now = timezone.now()
    interaction = _send(
        case,
        actor=actor,
        body=body,
        subject=subject or _subject(case, "We're sorry"),
        channel=channel,
        purpose="apology",
    )
    case.status = Case.Status.APOLOGISED
    case.apologised_at = now
    case.apology_score = result.score
    case.save(update_fields=["status", "apologised_at", "apology_score", "updated_at"])
    data: dict[str, Any] = {"score": result.score, "threshold": result.threshold}
    if not result.scored:
        data["language"] = result.language
    if not result.passed:
        data["override_reason"] = override_reason
    verdict = (
        f"coach score {result.score}"
        if result.scored
        else f"not scored by the coach: {result.language_name}"
    )
    case_event_record(
        case,
        kind=CaseEvent.Kind.APOLOGISED,
        summary=f"Apology sent ({verdict})" + (" with an override" if not result.passed else ""),
        actor=actor,
        data=data,
        interaction=interaction,
    )
    _meet(case, TimerKind.APOLOGISE, at=now)
    policy = policy_for(severity=case.severity)
    # The 20-minute rule: fix within the fix window, or update within it and
    # then keep updating on the cadence until fixed.
    _start(case, TimerKind.FIX, minutes(policy.fix_minutes), policy=policy, start=now)
    return case


# --- Step 2: review ----------------------------------------------------------------------------


@transaction.atomic
def case_review(
    *,
    case: Case,
    actor: ActorLike,
    what_went_wrong: str | None = None,
    impact: str | None = None,
    proposed_fix: str | None = None,
    proposal_accepted: bool | None = None,
    proposal_response: str | None = None,
) -> Case:
    """Capture the complaint in the customer's view; deciding on their proposal completes it."""
    case = _lock(case)
    _require_apologised(case)
    if case.fixed_at is not None:
        raise _refuse("the case is already fixed; the review can no longer change")
    texts = {
        name: text_field(value, field=name)
        for name, value in {
            "what_went_wrong": what_went_wrong,
            "impact": impact,
            "proposed_fix": proposed_fix,
            "proposal_response": proposal_response,
        }.items()
        if value is not None
    }
    changes: dict[str, Any] = {n: v for n, v in texts.items() if v != getattr(case, n)}
    if proposal_accepted is not None and proposal_accepted != case.proposal_accepted:
        if not changes.get("proposed_fix", case.proposed_fix or "").strip():
            raise ValidationFailed(
                "record what the customer proposes before accepting or declining it",
                field="proposed_fix",
            )
        changes["proposal_accepted"] = proposal_accepted
    if not changes:
        return case
    if not changes.get("what_went_wrong", case.what_went_wrong):
        raise ValidationFailed(
            "say what went wrong, in the customer's view", field="what_went_wrong"
        )
    accepted = changes.get("proposal_accepted", case.proposal_accepted)
    changes["status"] = Case.Status.FIXING if accepted is not None else Case.Status.IN_REVIEW
    changes["reviewed_at"] = timezone.now()
    diff = changes_apply(case, changes)
    data = {name: list(pair) for name, pair in diff.items() if name != "reviewed_at"}
    case_event_record(
        case, kind=CaseEvent.Kind.REVIEWED, summary="Review updated", actor=actor, data=data
    )
    return case


# --- Step 3: fix -------------------------------------------------------------------------------


@transaction.atomic
def case_send_update(
    *, case: Case, actor: ActorLike, body: str, channel: str | None = None
) -> Case:
    """A progress update while not yet fixed; it restarts the update cadence."""
    case = _lock(case)
    _require_apologised(case)
    if case.fixed_at is not None:
        raise _refuse("the case is fixed; send the follow-up instead")
    body = text_field(body, field="body", required=True)
    now = timezone.now()
    interaction = _send(
        case,
        actor=actor,
        body=body,
        subject=_subject(case, "An update on your complaint"),
        channel=channel,
        purpose="update",
    )
    case.last_update_at = now
    if case.status == Case.Status.APOLOGISED:
        case.status = Case.Status.FIXING
    case.save(update_fields=["last_update_at", "status", "updated_at"])
    case_event_record(
        case,
        kind=CaseEvent.Kind.UPDATE_SENT,
        summary="Progress update sent",
        actor=actor,
        interaction=interaction,
    )
    _meet(case, TimerKind.FIX, TimerKind.UPDATE, at=now)
    policy = policy_for(severity=case.severity)
    _start(case, TimerKind.UPDATE, minutes(policy.update_minutes), policy=policy, start=now)
    return case


@transaction.atomic
def case_mark_fixed(
    *,
    case: Case,
    actor: ActorLike,
    fix_summary: str,
    message: str = "",
    channel: str | None = None,
) -> Case:
    """The problem is fixed: the fix and update clocks stop, the follow-up clock starts
    (due once the cool-off is over), and the documentation clock unless running.

    Locks the case, then its timers. Refuses a case not yet apologised or already
    fixed. An optional `message` goes to the customer. Publishes case.fixed."""
    case = _lock(case)
    _require_apologised(case)
    if case.fixed_at is not None:
        raise _refuse("the case is already fixed")
    fix_summary = text_field(fix_summary, field="fix_summary", required=True)
    now = timezone.now()
    interaction = None
    if message.strip():
        interaction = _send(
            case,
            actor=actor,
            body=message,
            subject=_subject(case, "Fixed"),
            channel=channel,
            purpose="fixed",
        )
    case.status = Case.Status.FIXED
    case.fixed_at = now
    case.fix_summary = fix_summary
    case.save(update_fields=["status", "fixed_at", "fix_summary", "updated_at"])
    case_event_record(
        case,
        kind=CaseEvent.Kind.FIXED,
        summary=f"Fixed: {fix_summary}",
        actor=actor,
        interaction=interaction,
    )
    _meet(case, TimerKind.FIX, TimerKind.UPDATE, at=now)
    _start_follow_up_clocks(case, now=now)
    return case


# --- Step 4: follow up --------------------------------------------------------------------------


def cool_off_ends(case: Case) -> datetime | None:
    """When the follow-up may be sent: the cool-off after the fix (None before a fix)."""
    if case.fixed_at is None:
        return None
    return case.fixed_at + hours(policy_for(severity=case.severity).cool_off_hours)


@transaction.atomic
def case_follow_up(
    *, case: Case, actor: ActorLike, body: str, channel: str | None = None, early_reason: str = ""
) -> Case:
    """Ask, after the cool-off, whether the customer walked away happy."""
    case = _lock(case)
    _require_open(case)
    if case.fixed_at is None:
        raise _refuse("fix the problem before following up")
    if case.follow_up_sent_at is not None:
        raise _refuse("the follow-up was already sent; record the customer's answer")
    ends = cool_off_ends(case)
    now = timezone.now()
    if ends and now < ends and not early_reason.strip():
        raise _refuse(
            f"the cool-off runs until {timezone.localtime(ends):%d %b, %H:%M %Z}; "
            "give the customer time, "
            "or give a reason to follow up early",
            field="early_reason",
        )
    body = text_field(body, field="body", required=True)
    channel = channel or reply_channel_for(case)
    if channel not in SPOKEN:
        # A written follow-up carries the survey link, so the customer can
        # answer without replying; a spoken one is answered on the call.
        from bounceback.portal.services import survey_invitation_create

        _, survey_url = survey_invitation_create(case=case)
        body = f"{body}\n\nTell us how we did (it takes a minute): {survey_url}"
    interaction = _send(
        case,
        actor=actor,
        body=body,
        subject=_subject(case, "How did we do?"),
        channel=channel,
        purpose="follow_up",
    )
    case.status = Case.Status.FOLLOWING_UP
    case.follow_up_sent_at = now
    case.save(update_fields=["status", "follow_up_sent_at", "updated_at"])
    data = {"early_reason": early_reason.strip()} if early_reason.strip() else {}
    case_event_record(
        case,
        kind=CaseEvent.Kind.FOLLOW_UP_SENT,
        summary="Follow-up sent",
        actor=actor,
        data=data,
        interaction=interaction,
    )
    _meet(case, TimerKind.FOLLOW_UP, at=now)
    return case


# Long on purpose: happy, unhappy-reopening and unhappy-accepted answers share the
# case's lock and differ only in what they restart; the three stay side by side.
@transaction.atomic
def case_record_follow_up(
    *,
    case: Case,
    actor: ActorLike,
    satisfied: bool,
    will_return: bool | None,
    comment: str = "",
    reopen_recovery: bool = True,
    score: int | None = None,
    answered_by: str = "",
) -> Case:
    """The customer's answer. Unhappy answers reopen the recovery instead of ending it.

    With `reopen_recovery=False` staff accept that this customer stays unhappy
    (nothing more can be done); the answer stays on the case and it can close.
    `score` is the survey's 1-5 satisfaction; `answered_by` names who gave the
    answer when no staff member recorded it (the customer, via the survey).
    """
    if answered_by:
        # A plain label: the event shows it as the author and links no user.
        actor = actor if actor is not None else Actor.system(answered_by)
    case = _lock(case)
    _require_open(case)
    if case.follow_up_sent_at is None:
        raise _refuse("send the follow-up before recording its answer")
    now = timezone.now()
    case.satisfied = satisfied
    case.will_return = will_return
    case.follow_up_comment = text_field(comment, field="comment")
    case.follow_up_recorded_at = now
    fields = ["satisfied", "will_return", "follow_up_comment", "follow_up_recorded_at"]
    data: dict[str, Any] = {"satisfied": satisfied, "will_return": will_return}
    if score is not None:
        if not 1 <= score <= 5:
            raise ValidationFailed("the score must be from 1 to 5", field="score")
        data["score"] = score
    if answered_by:
        data["answered_by"] = answered_by
    via = f" ({score}/5)" if score is not None else ""
    if not satisfied and not reopen_recovery:
        data["reopen_recovery"] = False
        case_event_record(
            case,
            kind=CaseEvent.Kind.FOLLOW_UP_RECORDED,
            summary=f"Customer is not satisfied; the recovery ends here{via}",
            actor=actor,
            data=data,
        )
    elif satisfied:
        case_event_record(
            case,
            kind=CaseEvent.Kind.FOLLOW_UP_RECORDED,
            summary=f"Customer is satisfied{via}",
            actor=actor,
            data=data,
        )
    else:
        # Not happy: back to fixing, with fresh fix timers and a task for the
        # assignee. The answer stays in the event; the case's answer fields clear
        # so the next follow-up asks afresh and an old answer is never shown as current.
        data["comment"] = case.follow_up_comment
        case.status = Case.Status.FIXING
        case.fixed_at = None
        case.follow_up_sent_at = None
        case.satisfied = None
        case.will_return = None
        case.follow_up_comment = ""
        case.follow_up_recorded_at = None
        fields += ["status", "fixed_at", "follow_up_sent_at"]
        case_event_record(
            case,
            kind=CaseEvent.Kind.FOLLOW_UP_RECORDED,
            summary=f"Customer is not satisfied{via}: recovery reopened",
            actor=actor,
            data=data,
        )
        _meet(case, TimerKind.FOLLOW_UP, at=now)
        policy = policy_for(severity=case.severity)
        _start(case, TimerKind.FIX, minutes(policy.fix_minutes), policy=policy, start=now)
        from bounceback.cases.timer_events import leads_for
        from bounceback.notifications.services import notify

        # A case nobody has taken yet (from the web form, an email) still gets
        # someone: its team's lead, else the leads.
        recipients = [case.assignee] if case.assignee is not None else leads_for(case)
        if recipients:
            notify(
                recipients=recipients,
                kind=CaseEvent.Kind.RECOVERY_REOPENED,
                title=f"{case.reference}: {case.customer.name} is not satisfied",
                body=data["comment"],
                url=f"/cases/{case.pk}/",
            )
    case.save(update_fields=[*fields, "updated_at"])
    from bounceback.segments.services import segment_memberships_refresh_later

    segment_memberships_refresh_later(customer_ids=[case.customer_id])
    return case


# --- Step 5: document, close, reopen ------------------------------------------------------------


@transaction.atomic
def case_document(
    *, case: Case, actor: ActorLike, root_cause: str, what_was_done: str, prevention_idea: str
) -> Case:
    """Record root cause, what was done and a prevention idea: the documentation clock
    stops and the case may close.

    Locks the case; refuses a closed case and one neither fixed nor followed up."""
    case = _lock(case)
    case_check_can_document(case=case)
    values = {
        "root_cause": text_field(root_cause, field="root_cause", required=True),
        "what_was_done": text_field(what_was_done, field="what_was_done", required=True),
        "prevention_idea": text_field(prevention_idea, field="prevention_idea", required=True),
    }
    diff = {
        name: list(pair)
        for name, pair in changes_apply(case, {**values, "documented_at": timezone.now()}).items()
        if name != "documented_at"
    }
    case_event_record(
        case,
        kind=CaseEvent.Kind.DOCUMENTED,
        summary="Root cause and prevention documented",
        actor=actor,
        data=diff,
    )
    _meet(case, TimerKind.DOCUMENT, at=case.documented_at)
    return case


def case_check_can_document(*, case: Case) -> None:
    """Raise Conflict with the reason when the case may not be documented (now)."""
    if case.status == Case.Status.CLOSED:
        raise _refuse("the case is closed; reopen it to change its documentation")
    if case.fixed_at is None and case.follow_up_recorded_at is None:
        raise _refuse("document the case once it is fixed")


def case_check_can_close(*, case: Case) -> None:
    """Raise Conflict with the reason when the case may not be closed yet."""
    if case.status == Case.Status.CLOSED:
        raise _refuse("the case is already closed")
    if case.status == Case.Status.WAITING:
        raise _refuse("the case is waiting on the customer; resume it first")
    if case.fixed_at is None:
        raise _refuse("the problem is not fixed yet")
    if case.follow_up_sent_at is None:
        raise _refuse("follow up with the customer before closing")
    if case.documented_at is None:
        raise _refuse("document the case first: root cause, what was done and how to prevent it")


@transaction.atomic
def case_close(*, case: Case, actor: ActorLike) -> Case:
    """Close a documented case (see case_check_can_close for what it refuses); every
    running timer is cancelled. Publishes case.closed."""
    case = _lock(case)
    case_check_can_close(case=case)
    now = timezone.now()
    case.status = Case.Status.CLOSED
    case.closed_at = now
    case.save(update_fields=["status", "closed_at", "updated_at"])
    for timer in _timers(case):
        if timer.state in {Timer.State.RUNNING, Timer.State.PAUSED}:
            timer_cancel(timer=timer)
        elif timer.state == Timer.State.BREACHED and timer.met_at is None:
            timer_meet(timer=timer, at=now)
    case_event_record(case, kind=CaseEvent.Kind.CLOSED, summary="Case closed", actor=actor)
    return case


@transaction.atomic
def case_close_drill(*, case: Case, actor: ActorLike, reason: str) -> Case:
    """Close a drill's case when its drill is over, whatever step it reached (practice
    is never documented): its timers stop, so it leaves every inbox and escalates
    no more. Refuses a real case. No webhook (a drill's case publishes none)."""
    case = _lock(case)
    if case.drill_id is None:
        raise _refuse("only a drill's case is closed when its drill ends")
    if case.status == Case.Status.CLOSED:
        return case
    now = timezone.now()
    case.status = Case.Status.CLOSED
    case.closed_at = now
    case.save(update_fields=["status", "closed_at", "updated_at"])
    for timer in _timers(case):
        if timer.state in {Timer.State.RUNNING, Timer.State.PAUSED}:
            timer_cancel(timer=timer)
        elif timer.state == Timer.State.BREACHED and timer.met_at is None:
            timer_meet(timer=timer, at=now)
    case_event_record(
        case, kind=CaseEvent.Kind.CLOSED, summary=f"Closed: {reason}"[:300], actor=actor
    )
    return case


@transaction.atomic
def case_reopen(*, case: Case, actor: ActorLike, reason: str) -> Case:
    """Reopen a closed case, with the reason: the fix is due again. Publishes case.reopened."""
    case = _lock(case)
    if case.status != Case.Status.CLOSED:
        raise _refuse("only a closed case can be reopened")
    reason = text_field(reason, field="reason", required=True)
    now = timezone.now()
    case.status = Case.Status.FIXING
    case.closed_at = None
    case.fixed_at = None
    case.follow_up_sent_at = None
    case.follow_up_recorded_at = None
    case.satisfied = None
    case.will_return = None
    case.save(
        update_fields=[
            "status",
            "closed_at",
            "fixed_at",
            "follow_up_sent_at",
            "follow_up_recorded_at",
            "satisfied",
            "will_return",
            "updated_at",
        ]
    )
    case_event_record(
        case,
        kind=CaseEvent.Kind.REOPENED,
        summary=f"Reopened: {reason}",
        actor=actor,
        data={"reason": reason},
    )
    policy = policy_for(severity=case.severity)
    _start(case, TimerKind.FIX, minutes(policy.fix_minutes), policy=policy, start=now)
    return case


# --- Waiting on the customer -------------------------------------------------------------------


@transaction.atomic
def case_wait_on_customer(*, case: Case, actor: ActorLike, reason: str = "") -> Case:
    """Pause every running timer until the customer answers."""
    case = _lock(case)
    _require_open(case)
    now = timezone.now()
    case.status_before_wait = case.status
    case.status = Case.Status.WAITING
    case.save(update_fields=["status", "status_before_wait", "updated_at"])
    for timer in _timers(case):
        timer_pause(timer=timer, at=now)
    case_event_record(
        case,
        kind=CaseEvent.Kind.WAITING,
        summary="Waiting on the customer" + (f": {reason.strip()}" if reason.strip() else ""),
        actor=actor,
        data={"reason": reason.strip()},
    )
    return case


@transaction.atomic
def case_resume(*, case: Case, actor: ActorLike) -> Case:
    """The customer answered: timers continue with the time they had left."""
    case = _lock(case)
    if case.status != Case.Status.WAITING:
        raise _refuse("the case is not waiting on the customer")
    _resume(case, actor=actor)
    return case


def _resume(case: Case, *, actor: ActorLike) -> None:
    """Back to the status before the wait; timers continue with the time they had left.

    The caller holds the case lock and has checked the case is waiting.
    """
    now = timezone.now()
    case.status = case.status_before_wait or Case.Status.NEW
    case.status_before_wait = ""
    case.save(update_fields=["status", "status_before_wait", "updated_at"])
    for timer in _timers(case):
        timer_resume(timer=timer, at=now)
    case_event_record(
        case, kind=CaseEvent.Kind.RESUMED, summary="Customer answered: timers resumed", actor=actor
    )


@transaction.atomic
def case_log_customer_message(
    *,
    case: Case,
    actor: ActorLike,
    body: str,
    channel: str | None = None,
    subject: str = "",
    occurred_at: datetime | None = None,
    source: str = "staff",
    external_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Case:
    """Record what the customer said (a reply, a call); a waiting case resumes.

    Channels call this for inbound replies; staff call it to log a phone call.
    Channels pass `source` and the provider's `external_id` so a message
    delivered twice is refused (Conflict) instead of logged twice.
    """
    case = _lock(case)
    if case.status == Case.Status.CLOSED:
        raise _refuse("the case is closed; reopen it to add to it")
    channel = channel or case.channel
    interaction = interaction_log(
        customer=case.customer,
        case=case,
        channel=channel,
        direction=Interaction.Direction.INBOUND,
        body=text_field(body, field="body", required=True),
        subject=subject,
        occurred_at=occurred_at,
        thread_ref=case.reference or "",
        author=actor,
        author_name=case.customer.name,
        source=source,
        external_id=external_id,
        metadata=metadata,
    )
    case_event_record(
        case,
        kind=CaseEvent.Kind.CUSTOMER_MESSAGE,
        summary=f"{case.customer.name} wrote"
        if channel not in SPOKEN
        else f"{case.customer.name} said",
        actor=actor,
        interaction=interaction,
        data={"channel": channel},
    )
    if case.status == Case.Status.WAITING:
        _resume(case, actor=actor)
    return case


@transaction.atomic
def case_record_step(
    *,
    case: Case,
    actor: ActorLike,
    kind: str,
    summary: str,
    data: dict[str, Any] | None = None,
    message: str = "",
    subject: str = "",
    channel: str | None = None,
) -> CaseEvent:
    """A step another domain takes on the case (a gesture granted, an approval asked).

    Writes the timeline row and, when `message` is given, the message to the
    customer through the outbox on the reply channel (or `channel`), in the
    caller's transaction. The caller validates its own rules first; this only
    refuses a closed case when there is a message to send.
    """
    case = _lock(case)
    interaction = None
    if message.strip():
        _require_open(case)
        interaction = _send(
            case,
            actor=actor,
            body=text_field(message, field="message", required=True),
            subject=_subject(case, subject or summary),
            channel=channel,
            purpose=kind,
        )
    event = case_event_record(
        case, kind=kind, summary=summary, actor=actor, data=data, interaction=interaction
    )
    case.save(update_fields=["updated_at"])
    return event


CALL_MINUTES_MAX = 600


@transaction.atomic
def case_log_call(
    *,
    case: Case,
    actor: ActorLike,
    direction: str,
    body: str,
    minutes_long: int | None = None,
    occurred_at: datetime | None = None,
) -> Case:
    """A phone call about the case, either way, as staff remember it.

    A call the customer made is them answering: a waiting case resumes, as for
    any message from them. A call we made is recorded as said; use the step
    forms (channel phone) when the call *is* a step, such as the apology.
    """
    if direction not in (Interaction.Direction.INBOUND, Interaction.Direction.OUTBOUND):
        raise ValidationFailed("direction must be inbound or outbound", field="direction")
    if minutes_long is not None and not 0 <= minutes_long <= CALL_MINUTES_MAX:
        raise ValidationFailed(
            f"a call lasts from 0 to {CALL_MINUTES_MAX} minutes", field="minutes_long"
        )
    case = _lock(case)
    if case.status == Case.Status.CLOSED:
        raise _refuse("the case is closed; reopen it to add to it")
    inbound = direction == Interaction.Direction.INBOUND
    interaction = interaction_log(
        customer=case.customer,
        case=case,
        channel=Channel.PHONE,
        direction=direction,
        body=text_field(body, field="body", required=True),
        occurred_at=occurred_at,
        thread_ref=case.reference or "",
        author=actor,
        author_name=case.customer.name if inbound else "",
        metadata={"call_minutes": minutes_long} if minutes_long is not None else None,
    )
    length = f" ({minutes_long} min)" if minutes_long is not None else ""
    name = case.customer.name
    case_event_record(
        case,
        kind=CaseEvent.Kind.CALL_LOGGED,
        summary=f"{name} called{length}" if inbound else f"Called {name}{length}",
        actor=actor,
        interaction=interaction,
        data={"direction": direction, "minutes": minutes_long},
    )
    if inbound and case.status == Case.Status.WAITING:
        _resume(case, actor=actor)
    return case


@transaction.atomic
def case_link(
    *, case: Case, other: Case, actor: ActorLike, kind: str = CaseLink.Kind.RELATED
) -> CaseLink:
    """Link two cases (related, duplicate...); linking the same pair again changes nothing.

    Locks `case`; refuses a case linked to itself and an unknown kind."""
    if other.pk == case.pk:
        raise ValidationFailed("a case cannot be linked to itself", field="other_case_id")
    if kind not in CaseLink.Kind.values:
        raise ValidationFailed(
            f"kind must be one of {', '.join(CaseLink.Kind.values)}", field="kind"
        )
    case = _lock(case)
    link, created = CaseLink.objects.get_or_create(
        from_case=case, to_case=other, defaults={"kind": kind}
    )
    if created:
        case_event_record(
            case,
            kind=CaseEvent.Kind.LINKED,
            summary=f"Linked to {other.reference} ({link.get_kind_display().lower()})",
            actor=actor,
            data={"case": other.reference, "kind": kind},
        )
    return link


# --- The recovery policy --------------------------------------------------------------------

_POLICY_LIMITS = {
    "apologise_minutes": (1, 60 * 24 * 14),
    "fix_minutes": (1, 60 * 24 * 30),
    "update_minutes": (1, 60 * 24 * 7),
    "cool_off_hours": (0, 24 * 30),
    "follow_up_hours": (1, 24 * 30),
    "document_hours": (1, 24 * 90),
    "warn_percent": (1, 99),
    "apology_threshold": (0, 100),
}


@transaction.atomic
def policy_update(*, severity: str, actor: ActorLike, **changes: int) -> RecoveryPolicy:
    """Change the targets for one severity. New targets apply to timers started from now."""
    from bounceback.audit.services import audit_record

    if severity not in Severity.values:
        raise ValidationFailed(f"unknown severity {severity!r}", field="severity")
    unknown = set(changes) - set(_POLICY_LIMITS)
    if unknown:
        raise ValidationFailed(f"{min(unknown)} is not a policy setting", field=min(unknown))
    for name, value in changes.items():
        low, high = _POLICY_LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValidationFailed(
                f"{name} must be a whole number from {low} to {high}", field=name
            )
    policy = policy_for(severity=severity)
    before = {name: getattr(policy, name) for name in changes}
    changes_apply(policy, changes)
    audit_record(
        action="policy_changed",
        actor=actor,
        target=f"policy:{severity}",
        data={name: [before[name], value] for name, value in changes.items()},
    )
    return policy


# --- A breakdown's messages, one case at a time -----------------------------------------------
#
# The row-at-a-time forms of cases/bulk.py: a breakdown's outreach uses these
# for a handful of customers, and the bulk forms for thousands; both write the
# same rows (tests compare them column by column).


@transaction.atomic
def case_open_proactive(
    *,
    outreach: ProactiveOutreach,
    contact: ProactiveContact,
    fill: Fill,
    actor: ActorLike,
    now: datetime,
    send_at: datetime,
) -> OpenedCase:
    """Open one case already apologised, by a breakdown's outreach, with its first message.

    The channel and address were chosen by the outreach among those that can
    deliver; the message is queued to leave at `send_at` (the wave's pace).
    """
    who = actor_of(actor)
    customer = Customer.objects.get(pk=contact.customer_id)
    case = Case.objects.create(
        customer=customer,
        transaction_id=contact.transaction_id,
        channel=contact.channel,
        summary=outreach.title,
        failure_mode_id=outreach.failure_mode_id,
        breakdown_id=outreach.breakdown_id,
        proactive=True,
        severity=outreach.severity,
        site_id=outreach.site_id,
        status=Case.Status.APOLOGISED,
        apologised_at=now,
        apology_score=outreach.apology_score,
        created_by=who.user,
        created_at=now,
    )
    case.reference = case_reference(case.pk)
    case.save(update_fields=["reference"])
    subject, body = contact.message(case.reference, fill)
    interaction = interaction_log(
        customer=customer,
        case=case,
        channel=contact.channel,
        direction=Interaction.Direction.OUTBOUND,
        body=body,
        subject=subject,
        author=who,
        occurred_at=now,
        thread_ref=case.reference,
        source="bounceback",
        metadata=outreach.message_metadata(),
    )
    message = outbox_enqueue(
        channel=contact.channel,
        to_address=contact.address,
        subject=subject,
        body_text=body,
        customer=customer,
        interaction=interaction,
        headers={"X-Bounceback-Case": case.reference},
        send_at=send_at,
        batch=outreach.batch,
    )
    data = outreach.event_data()
    case_event_record(
        case,
        kind=CaseEvent.Kind.OPENED,
        summary=outreach.opened_summary(),
        actor=who,
        data=data,
        at=now,
    )
    case_event_record(
        case,
        kind=CaseEvent.Kind.APOLOGISED,
        summary=outreach.apologised_summary(),
        actor=who,
        data=data,
        interaction=interaction,
        at=now,
    )
    return OpenedCase(case_id=case.pk, interaction_id=interaction.pk, message_id=message.pk)


@transaction.atomic
def case_send_wave_message(
    *,
    wave: Wave,
    target: WaveCase,
    fill: Fill,
    actor: ActorLike,
    now: datetime,
    send_at: datetime | None,
) -> Case:
    """One case's share of a breakdown's status update or all-clear.

    The message goes when the case has a channel (at `send_at`); an update
    then counts as the case's progress update, and the all-clear fixes a case
    that can be fixed, with its follow-up clocks, as case_mark_fixed does.
    """
    who = actor_of(actor)
    case = _lock(Case(pk=target.case_id))
    interaction = None
    if target.channel and target.address and send_at is not None:
        subject, body = target.message(wave, fill)
        interaction = interaction_log(
            customer=case.customer,
            case=case,
            channel=target.channel,
            direction=Interaction.Direction.OUTBOUND,
            body=body,
            subject=subject,
            author=who,
            occurred_at=now,
            thread_ref=target.reference,
            source="bounceback",
            metadata={"purpose": wave.purpose, "breakdown": wave.breakdown_reference},
        )
        outbox_enqueue(
            channel=target.channel,
            to_address=target.address,
            subject=subject,
            body_text=body,
            customer=case.customer,
            interaction=interaction,
            headers={"X-Bounceback-Case": target.reference},
            send_at=send_at,
            batch=wave.batch,
            held=wave.held,
        )
    fixing = wave.fix and target.fixable
    data = {"breakdown": wave.breakdown_reference}
    if fixing:
        case.status = Case.Status.FIXED
        case.fixed_at = now
        case.fix_summary = fill(wave.body_template, target.customer_name, target.reference).strip()
        case.save(update_fields=["status", "fixed_at", "fix_summary", "updated_at"])
    elif interaction is not None and not wave.fix:
        case.last_update_at = now
        if case.status == Case.Status.APOLOGISED:
            case.status = Case.Status.FIXING
        case.save(update_fields=["last_update_at", "status", "updated_at"])
    if fixing or interaction is not None:
        case_event_record(
            case,
            kind=CaseEvent.Kind.FIXED if fixing else CaseEvent.Kind.UPDATE_SENT,
            summary=wave.event_summary(fixed=fixing),
            actor=who,
            data=data,
            interaction=interaction,
            at=now,
        )
    if fixing or (interaction is not None and not wave.fix):
        _meet(case, TimerKind.FIX, TimerKind.UPDATE, at=now)
    if fixing:
        _start_follow_up_clocks(case, now=now)
    return case


def _start_follow_up_clocks(case: Case, *, now: datetime) -> None:
    """The follow-up clock (due once the cool-off is over, warning at its end) and, unless
    the case is documented or being documented, the documentation clock."""
    policy = policy_for(severity=case.severity)
    _start(
        case,
        TimerKind.FOLLOW_UP,
        hours(policy.cool_off_hours + policy.follow_up_hours),
        policy=policy,
        start=now,
        warn_at=now + hours(policy.cool_off_hours),
    )
    documenting = any(t.met_at is None for t in _timers(case, TimerKind.DOCUMENT))
    if case.documented_at is None and not documenting:
        _start(case, TimerKind.DOCUMENT, hours(policy.document_hours), policy=policy, start=now)


@transaction.atomic
def case_join_breakdown(
    *,
    case: Case,
    breakdown_id: int,
    breakdown_reference: str,
    breakdown_title: str,
    actor: ActorLike,
) -> Case:
    """The case is about a breakdown (a complaint that came in on its own).

    Already linked to it: nothing changes. Linked to another breakdown: a
    Conflict, unlink it there first. Closed cases may be linked: the link
    records what the complaint was about and changes nothing in the recovery.
    The caller (breakdowns) holds the breakdown's lock, taken before this one.
    """
    case = _lock(case)
    if case.breakdown_id == breakdown_id:
        return case
    if case.breakdown_id is not None:
        other = case.breakdown.reference if case.breakdown else case.breakdown_id
        raise _refuse(
            f"{case.reference} already belongs to breakdown {other}; unlink it there first",
            field="breakdown_id",
        )
    changes_apply(case, {"breakdown_id": breakdown_id})
    case_event_record(
        case,
        kind=CaseEvent.Kind.LINKED_TO_BREAKDOWN,
        summary=f"Linked to breakdown {breakdown_reference}: {breakdown_title}",
        actor=actor,
        data={"breakdown": breakdown_reference},
    )
    return case


@transaction.atomic
def case_leave_breakdown(
    *, case: Case, breakdown_id: int, breakdown_reference: str, actor: ActorLike
) -> Case:
    """Undo a link made by mistake. A case the outreach opened belongs to its breakdown."""
    case = _lock(case)
    if case.breakdown_id != breakdown_id:
        raise _refuse(f"{case.reference} is not linked to {breakdown_reference}")
    if case.proactive:
        raise _refuse(
            f"{case.reference} was opened by the breakdown's outreach; it cannot be unlinked"
        )
    changes_apply(case, {"breakdown_id": None})
    case_event_record(
        case,
        kind=CaseEvent.Kind.UNLINKED_FROM_BREAKDOWN,
        summary=f"No longer linked to breakdown {breakdown_reference}",
        actor=actor,
        data={"breakdown": breakdown_reference},
    )
    return case


# --- Working together ------------------------------------------------------------------------

NOTE_MAX = 5000
# "@name" at the start or after a space or an opening bracket; an email address
# ("ann@example.com") is not a mention.
MENTION = re.compile(r"(?:^|(?<=[\s(\[]))@([\w.+-]*[\w])")


def note_mentions(body: str) -> list[str]:
    """The usernames a note mentions, in order, each once."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(body):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


@transaction.atomic
def case_note_add(*, case: Case, actor: ActorLike, body: str) -> CaseEvent:
    """Add an internal note to the case timeline and tell everyone it @mentions.

    A note is staff talking to staff: no message is written, nothing goes to
    the outbox, and the portal and emails never show it. Refuses an empty note
    and a mention of nobody (naming the unknown @names), so a colleague is never
    silently not told. Allowed on closed cases too. Locks the case.
    """
    from bounceback.accounts.models import User
    from bounceback.notifications.services import notify

    body = text_field(body, field="body", max_length=NOTE_MAX, required=True)
    names = note_mentions(body)
    people: dict[str, User] = {}
    if names:
        from django.db.models import Q

        match = Q()
        for name in names:
            match |= Q(username__iexact=name)
        people = {u.username.lower(): u for u in User.objects.filter(match, is_active=True)}
    unknown = [n for n in names if n not in people]
    if unknown:
        listed = ", ".join(f"@{n}" for n in unknown)
        raise ValidationFailed(
            f"nobody on the staff is called {listed}; mention colleagues by their username",
            field="body",
        )
    case = _lock(case)
    who = actor_of(actor)
    mentioned = [people[n] for n in names]
    event = case_event_record(
        case,
        kind=CaseEvent.Kind.NOTE,
        summary="Internal note"
        + (f" mentioning {', '.join('@' + u.username for u in mentioned)}" if mentioned else ""),
        actor=actor,
        data={"body": body, "mentions": [u.username for u in mentioned]},
    )
    # Notes are found by the search box like the customer's own words.
    from bounceback.search.services import search_entry_set

    search_entry_set(case_id=case.pk, source="note", source_id=event.pk, body=body)
    author = who.label or "A colleague"
    told = [u for u in mentioned if who.user is None or u.pk != who.user.pk]
    if told:
        from django.urls import reverse

        notify(
            recipients=told,
            kind="mention",
            title=f"{author} mentioned you on {case.reference}: {case.summary}",
            body=body[:500],
            url=reverse("cases:detail", args=[case.pk]) + f"#event-{event.pk}",
        )
    return event


def case_viewed(*, case: Case, user: User, at: datetime | None = None) -> None:
    """Remember that `user` has the case open now (for the colleague-on-it warning).

    One upsert (one statement), no lock and no timeline line: opening a page is not a change to
    the case, and two people opening it at once must not wait on each other.
    """
    CaseViewer.objects.bulk_create(
        [CaseViewer(case_id=case.pk, user_id=user.pk, seen_at=at or timezone.now())],
        update_conflicts=True,
        unique_fields=["case", "user"],
        update_fields=["seen_at"],
    )


def case_viewers_prune(*, now: datetime | None = None) -> int:
    """Forget page visits too old to warn about; returns how many went."""
    from django.conf import settings

    cutoff = (now or timezone.now()) - timedelta(minutes=settings.CASE_PRESENCE_MINUTES)
    deleted, _ = CaseViewer.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


# --- Acting on many cases --------------------------------------------------------------------


class BulkAction:
    ASSIGN = "assign"
    FAILURE_MODE = "failure_mode"
    LINK = "link"
    MESSAGE = "message"
    DOCUMENT = "document"
    FOLLOW_UP = "follow_up"
    CLOSE = "close"

    LABELS: dict[str, str] = {
        ASSIGN: "Assign",
        FAILURE_MODE: "Set the failure mode",
        LINK: "Link them together",
        MESSAGE: "Send a progress update",
        DOCUMENT: "Document (one shared documentation)",
        FOLLOW_UP: "Send the follow-up",
        CLOSE: "Document and close",
    }
    DONE: dict[str, str] = {
        ASSIGN: "assigned",
        FAILURE_MODE: "given the failure mode",
        LINK: "linked",
        MESSAGE: "sent the update",
        DOCUMENT: "documented",
        FOLLOW_UP: "followed up",
        CLOSE: "closed",
    }


# What a message sent to many cases may fill in for each (the playbooks' engine).
BULK_PLACEHOLDERS: dict[str, str] = {
    "customer.name": "The customer's full name",
    "customer.first_name": "The customer's first name",
    "case.reference": "The case reference",
}


def bulk_message_problems(body: str) -> None:
    """Refuse a message to many cases with a placeholder we cannot fill for each."""
    from bounceback.playbooks.templating import template_problems

    problems = template_problems(body, BULK_PLACEHOLDERS)
    if problems:
        raise ValidationFailed(problems[0], field="body")


def _bulk_body(body: str, case: Case) -> str:
    from bounceback.playbooks.templating import first_name, render

    name = case.customer.name
    return render(
        body,
        {
            "customer.name": name,
            "customer.first_name": first_name(name),
            "case.reference": case.reference or "",
        },
    )


@dataclass(frozen=True)
class BulkRefusal:
    case_id: int
    reference: str
    code: str
    message: str
    field: str | None


@dataclass
class BulkOutcome:
    """What a bulk action did: the cases it changed and, for each it could not, why."""

    action: str
    done: list[Case]
    refused: list[BulkRefusal]

    def summary(self) -> str:
        """One sentence for the person who asked, naming every refusal."""
        n = len(self.done)
        said = f"{n} case{'s' if n != 1 else ''} {BulkAction.DONE[self.action]}."
        if self.refused:
            reasons = "; ".join(f"{r.reference}: {r.message}" for r in self.refused[:10])
            more = f" and {len(self.refused) - 10} more" if len(self.refused) > 10 else ""
            k = len(self.refused)
            said += f" {k} case{'s' if k != 1 else ''} not: {reasons}{more}."
        return said


def _bulk_check(
    action: str,
    cases: list[Case],
    *,
    assignee: User | None,
    assignee_given: bool,
    failure_mode: FailureMode | None,
    link_to: Case | None,
    body: str,
    documentation: dict[str, str],
) -> dict[str, str]:
    """Refuse the whole request before anything is written: what is missing for the action.
    Returns the documentation as it will be stored (checked, when given or needed)."""
    if action not in BulkAction.LABELS:
        raise ValidationFailed(
            f"action must be one of {', '.join(BulkAction.LABELS)}", field="action"
        )
    if not cases:
        raise ValidationFailed("choose at least one case", field="case_ids")
    if action == BulkAction.ASSIGN:
        if not assignee_given:
            raise ValidationFailed("choose who to assign the cases to", field="assignee_id")
        if assignee is not None and not assignee.is_active:
            raise ValidationFailed("the assignee's account is disabled", field="assignee_id")
    if action == BulkAction.FAILURE_MODE:
        if failure_mode is None:
            raise ValidationFailed("choose the failure mode", field="failure_mode_id")
        accepted_failure_mode(failure_mode)
    if action == BulkAction.LINK and link_to is None and len(cases) < 2:
        raise ValidationFailed(
            "choose at least two cases to link, or a case to link them to", field="case_ids"
        )
    if action in (BulkAction.MESSAGE, BulkAction.FOLLOW_UP):
        bulk_message_problems(text_field(body, field="body", required=True))
    # Closing without documentation closes the documented cases and names the others
    # (as a breakdown's "close together" does); documentation given must be whole.
    if action == BulkAction.DOCUMENT or any(documentation.values()):
        return {
            name: text_field(value, field=name, required=True)
            for name, value in documentation.items()
        }
    return {}


# Cases per chunk: one transaction each, locking that many case rows.
BULK_CHUNK = 250
# Up to this many cases an action is done while the person waits; more are worked
# through in the background (a CaseBulkRun and its job), with progress.
BULK_INLINE = 250
BULK_JOB = "cases_bulk"
# Refusals a background run keeps in detail (all are counted).
BULK_REFUSALS_KEPT = 500


@dataclass(frozen=True)
class BulkRequest:
    """One bulk action, checked: what every chunk of it does."""

    action: str
    assignee: User | None = None
    failure_mode: FailureMode | None = None
    # Linking: the case every other is linked to.
    anchor: Case | None = None
    body: str = ""
    channel: str | None = None
    early_reason: str = ""
    # Checked texts, or empty when the action documents nothing.
    documentation: dict[str, str] | None = None

    def params(self) -> dict[str, Any]:
        """What a background run keeps to do the rest (ids and texts)."""
        return {
            "assignee_id": self.assignee.pk if self.assignee else None,
            "failure_mode_id": self.failure_mode.pk if self.failure_mode else None,
            "anchor_id": self.anchor.pk if self.anchor else None,
            "body": self.body,
            "channel": self.channel,
            "early_reason": self.early_reason,
            "documentation": self.documentation or {},
        }

    @classmethod
    def from_params(cls, action: str, params: dict[str, Any]) -> BulkRequest:
        from bounceback.accounts.models import User
        from bounceback.failuremodes.models import FailureMode

        def row(model: Any, key: str) -> Any:
            pk = params.get(key)
            return model.objects.filter(pk=pk).first() if pk is not None else None

        return cls(
            action=action,
            assignee=row(User, "assignee_id"),
            failure_mode=row(FailureMode, "failure_mode_id"),
            anchor=row(Case, "anchor_id"),
            body=str(params.get("body") or ""),
            channel=params.get("channel") or None,
            early_reason=str(params.get("early_reason") or ""),
            documentation=dict(params.get("documentation") or {}),
        )


def _refusal(case: Case, error: ServiceError) -> BulkRefusal:
    return BulkRefusal(
        case_id=case.pk,
        reference=case.reference or str(case.pk),
        code=error.code,
        message=error.message,
        field=error.field,
    )


def _one_by_one(request: BulkRequest, case: Case, actor: ActorLike) -> Case | None:
    """The actions whose writes differ case by case (each message is written and
    rendered for its customer and channel): the case page's own service, in a savepoint."""
    with transaction.atomic():
        if request.action == BulkAction.MESSAGE:
            return case_send_update(
                case=case,
                actor=actor,
                body=_bulk_body(request.body, case),
                channel=request.channel,
            )
        return case_follow_up(
            case=case,
            actor=actor,
            body=_bulk_body(request.body, case),
            channel=request.channel,
            early_reason=request.early_reason,
        )


def _bulk_chunk(request: BulkRequest, ids: list[int], *, actor: ActorLike) -> BulkOutcome:
    """Do the action to these cases in one transaction, holding their rows in id order."""
    from bounceback.cases import bulk

    outcome = BulkOutcome(action=request.action, done=[], refused=[])
    with transaction.atomic():
        cases = list(
            Case.objects.select_for_update(of=("self",))
            .select_related("customer", "assignee", "team", "failure_mode")
            .filter(pk__in=ids)
            .order_by("pk")
        )
        found = {c.pk for c in cases}
        outcome.refused += [
            BulkRefusal(
                case_id=pk,
                reference=case_reference(pk),
                code="not_found",
                message="the case no longer exists",
                field="case_ids",
            )
            for pk in ids
            if pk not in found
        ]
        now = timezone.now()
        refused: list[tuple[Case, ServiceError]] = []
        action = request.action
        if action == BulkAction.ASSIGN:
            done = bulk.cases_assign_many(
                cases=cases, assignee=request.assignee, actor=actor, now=now
            )
        elif action == BulkAction.FAILURE_MODE:
            if request.failure_mode is None:
                raise ValidationFailed("the failure mode no longer exists", field="failure_mode_id")
            done = bulk.cases_set_failure_mode_many(
                cases=cases, failure_mode=request.failure_mode, actor=actor, now=now
            )
        elif action == BulkAction.LINK:
            if request.anchor is None:
                raise ValidationFailed("the case to link to no longer exists", field="case_ids")
            done = bulk.cases_link_many(cases=cases, anchor=request.anchor, actor=actor, now=now)
        elif action == BulkAction.DOCUMENT:
            done, refused = bulk.cases_document_many(
                cases=cases, documentation=request.documentation or {}, actor=actor, now=now
            )
        elif action == BulkAction.CLOSE:
            done, refused = bulk.cases_close_many(
                cases=cases, documentation=request.documentation or None, actor=actor, now=now
            )
        else:
            done = []
            for case in cases:
                try:
                    changed = _one_by_one(request, case, actor)
                except ServiceError as error:
                    refused.append((case, error))
                else:
                    done.append(changed or case)
    outcome.done += done
    outcome.refused += [_refusal(case, error) for case, error in refused]
    outcome.refused.sort(key=lambda r: r.case_id)
    return outcome


def _bulk_request(
    *,
    cases: list[Case],
    action: str,
    assignee: User | None,
    assignee_given: bool,
    failure_mode: FailureMode | None,
    link_to: Case | None,
    body: str,
    channel: str | None,
    early_reason: str,
    documentation: dict[str, str],
) -> BulkRequest:
    cases.sort(key=lambda c: c.pk)
    checked = _bulk_check(
        action,
        cases,
        assignee=assignee,
        assignee_given=assignee_given or assignee is not None,
        failure_mode=failure_mode,
        link_to=link_to,
        body=body,
        documentation=documentation,
    )
    return BulkRequest(
        action=action,
        assignee=assignee,
        failure_mode=failure_mode,
        anchor=(link_to or cases[0]) if action == BulkAction.LINK else None,
        body=body,
        channel=channel,
        early_reason=early_reason,
        documentation=checked,
    )


def cases_bulk_apply(
    *,
    cases: list[Case],
    action: str,
    actor: ActorLike,
    assignee: User | None = None,
    assignee_given: bool = False,
    failure_mode: FailureMode | None = None,
    link_to: Case | None = None,
    body: str = "",
    channel: str | None = None,
    early_reason: str = "",
    root_cause: str = "",
    what_was_done: str = "",
    prevention_idea: str = "",
) -> BulkOutcome:
    """Apply one action to any number of cases, now: assign, set the failure mode, link,
    send an update or the follow-up, document (one shared documentation) or document
    and close. (`cases_bulk_request` sends a large selection to the background.)

    Validates the request first (refusing it whole: an unknown action, no cases,
    what the action needs missing). Then the cases go in chunks of BULK_CHUNK, in
    id order, each chunk one transaction holding its cases' rows. Each case gets
    exactly what the service on its own page writes: assigning, the failure
    mode, linking, documenting and closing are set-based over the chunk
    (cases/bulk.py), messages go case by case through the case services. A case
    the service would refuse (closed, not fixed yet...) is left exactly as it
    was and listed with the reason; the others are done. Linking joins every
    case to `link_to`, or to the first (oldest) case chosen.
    """
    request = _bulk_request(
        cases=cases,
        action=action,
        assignee=assignee,
        assignee_given=assignee_given,
        failure_mode=failure_mode,
        link_to=link_to,
        body=body,
        channel=channel,
        early_reason=early_reason,
        documentation={
            "root_cause": root_cause,
            "what_was_done": what_was_done,
            "prevention_idea": prevention_idea,
        },
    )
    outcome = BulkOutcome(action=action, done=[], refused=[])
    ids = [c.pk for c in cases]
    for start in range(0, len(ids), BULK_CHUNK):
        part = _bulk_chunk(request, ids[start : start + BULK_CHUNK], actor=actor)
        outcome.done += part.done
        outcome.refused += part.refused
    return outcome


def cases_bulk_request(
    *,
    cases: list[Case],
    action: str,
    actor: ActorLike,
    back_url: str = "",
    assignee: User | None = None,
    assignee_given: bool = False,
    failure_mode: FailureMode | None = None,
    link_to: Case | None = None,
    body: str = "",
    channel: str | None = None,
    early_reason: str = "",
    root_cause: str = "",
    what_was_done: str = "",
    prevention_idea: str = "",
) -> BulkOutcome | CaseBulkRun:
    """`cases_bulk_apply` for a selection of any size: up to BULK_INLINE cases are done
    now (the outcome); more are checked now and worked through in the background, a
    chunk at a time (the run, which shows progress; the person who asked is told when
    it ends). `back_url` is the page the run's page leads back to."""
    kwargs: dict[str, Any] = {
        "action": action,
        "assignee": assignee,
        "assignee_given": assignee_given,
        "failure_mode": failure_mode,
        "link_to": link_to,
        "body": body,
        "channel": channel,
        "early_reason": early_reason,
    }
    documentation: dict[str, Any] = {
        "root_cause": root_cause,
        "what_was_done": what_was_done,
        "prevention_idea": prevention_idea,
    }
    if len(cases) <= BULK_INLINE:
        return cases_bulk_apply(cases=cases, actor=actor, **kwargs, **documentation)
    request = _bulk_request(cases=cases, documentation=documentation, **kwargs)
    from bounceback.background.services import job_request

    who = actor_of(actor)
    with transaction.atomic():
        run = CaseBulkRun.objects.create(
            action=action,
            params=request.params(),
            case_ids=[c.pk for c in cases],
            total=len(cases),
            requested_by=who.user,
            token=who.token,
            actor_label=who.label,
            back_url=back_url[:300],
        )
        job_request(kind=BULK_JOB, key=bulk_job_key(run.pk), subject_id=run.pk)
    return run


def bulk_job_key(run_id: int) -> str:
    return f"cases_bulk:{run_id}"


def _run_actor(run: CaseBulkRun) -> Actor:
    if run.token is not None or run.requested_by is not None:
        return Actor(user=run.requested_by, token=run.token)
    return Actor.system(run.actor_label)


def cases_bulk_run_work(*, run_id: int, job: Job | None = None) -> CaseBulkRun:
    """Work a background bulk run through to its end, a chunk per transaction.

    Each chunk locks the run's row, then its cases, and commits their writes with
    the run's new position, so a run cut short goes on from the first case not
    done. When the last chunk is done the person who asked is told.
    """
    from bounceback.background.services import job_progress

    while True:
        with transaction.atomic():
            run = CaseBulkRun.objects.select_for_update().get(pk=run_id)
            if run.state == CaseBulkRun.State.DONE:
                return run
            ids = [int(pk) for pk in run.case_ids[run.position : run.position + BULK_CHUNK]]
            if not ids:
                _bulk_run_finish(run)
                return run
            part = _bulk_chunk(
                BulkRequest.from_params(run.action, run.params), ids, actor=_run_actor(run)
            )
            room = max(0, BULK_REFUSALS_KEPT - len(run.refused))
            run.refused = [*run.refused, *[asdict(r) for r in part.refused[:room]]]
            run.refused_count += len(part.refused)
            run.done_count += len(part.done)
            run.position += len(ids)
            run.save(update_fields=["refused", "refused_count", "done_count", "position"])
        if job is not None:
            job_progress(
                job,
                done=run.done_count,
                refused=run.refused_count,
                left=run.total - run.position,
            )


def _bulk_run_finish(run: CaseBulkRun) -> None:
    from django.urls import reverse

    from bounceback.notifications.services import notify

    run.state = CaseBulkRun.State.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "finished_at"])
    notify(
        recipients=[run.requested_by],
        kind="bulk_done",
        title=run.summary(),
        url=reverse("cases:bulk_run", args=[run.pk]),
    )


# --- Historical complaints ---------------------------------------------------------

_IMPORTED_FIELDS = ("summary", "description", "channel", "site", "category", "product")


# Long on purpose: one complaint from another system is created (closed ones
# quietly, open ones through case_open) or updated in place, and both paths
# must leave the same row shape.
@transaction.atomic
def case_import(
    *,
    customer: Customer,
    external_source: str,
    external_id: str,
    summary: str,
    opened_at: datetime,
    actor: ActorLike,
    closed: bool,
    closed_at: datetime | None = None,
    description: str = "",
    channel: str = Channel.WEB,
    site: Site | None = None,
    category: str = "",
    product: str = "",
) -> tuple[Case, str]:
    """Bring in one complaint exported from another system; returns the case and
    "created", "updated" or "unchanged".

    Matched by (external_source, external_id), so importing a file again
    updates instead of duplicating. A closed complaint is stored closed: no
    timer starts, no webhook is published, nothing is sent. An open one is
    opened like any new case (its apology timer starts now, not at its old
    date) and keeps its original date. A re-import never reopens a case or
    moves a customer: it updates the text fields only.
    """
    summary = text_field(summary, field="summary", max_length=200, required=True)
    description = text_field(description, field="description")
    category = text_field(category, field="category", max_length=120)
    product = text_field(product, field="product", max_length=200)
    if channel not in Channel.values:
        raise ValidationFailed(
            f"channel must be one of {', '.join(Channel.values)}", field="channel"
        )
    stored = (
        Case.objects.select_for_update()
        .filter(external_source=external_source, external_id=external_id)
        .first()
    )
    if stored is not None:
        if stored.customer_id != customer.pk:
            raise Conflict(
                f"{external_source} complaint {external_id} is already case "
                f"{stored.reference} of another customer",
                field="external_id",
            )
        wanted = {
            "summary": summary,
            "description": description,
            "channel": channel,
            "site": site,
            "category": category,
            "product": product,
        }
        diff = changes_apply(stored, wanted)
        if not diff:
            return stored, "unchanged"
        if "description" in diff:
            from bounceback.discovery.negativity import score

            stored.negativity = score(description) if description else None
            stored.save(update_fields=["negativity"])
        case_event_record(
            stored,
            kind=CaseEvent.Kind.UPDATED,
            summary=f"Re-imported from {external_source}: {', '.join(sorted(diff))} changed",
            actor=actor,
            data={"imported_from": external_source, "changed": sorted(diff)},
        )
        return stored, "updated"
    if closed:
        end = closed_at or opened_at
        from bounceback.discovery.negativity import score

        case = Case.objects.create(
            negativity=score(description) if description else None,
            customer=customer,
            summary=summary,
            description=description,
            channel=channel,
            site=site,
            category=category,
            product=product,
            status=Case.Status.CLOSED,
            closed_at=max(end, opened_at),
            external_source=external_source,
            external_id=external_id,
            created_by=actor_of(actor).user,
            created_at=opened_at,
        )
        case.reference = f"BB-{case.pk:05d}"
        case.save(update_fields=["reference"])
    else:
        case = case_open(
            customer=customer,
            summary=summary,
            description=description,
            channel=channel,
            site=site,
            actor=actor,
        )
        case.created_at = opened_at
        case.external_source = external_source
        case.external_id = external_id
        case.category = category
        case.product = product
        case.save(
            update_fields=["created_at", "external_source", "external_id", "category", "product"]
        )
    case_event_record(
        case,
        kind=CaseEvent.Kind.IMPORTED,
        summary=f"Imported from {external_source} ({external_id})"
        + (", closed there" if closed else ""),
        actor=actor,
        at=opened_at,
        data={"imported_from": external_source, "external_id": external_id, "closed": closed},
    )
    return case, "created"


# --- Duplicates: merging and splitting back ----------------------------------------------------


def _lock_pair(case: Case, other: Case) -> tuple[Case, Case]:
    """Lock two cases in id order (the fixed order every pair lock takes)."""
    first, second = sorted([case, other], key=lambda c: c.pk)
    locked = {first.pk: _lock(first), second.pk: _lock(second)}
    return locked[case.pk], locked[other.pk]


MERGE_MESSAGE = (
    "You told us about this twice, so we have put case {merged} together with case {into}: "
    "one case, one person looking after it, and every update from now on about {into}."
)


@transaction.atomic
def case_merge(
    *,
    case: Case,
    into: Case,
    actor: ActorLike,
    tell_customer: bool = True,
    channel: str | None = None,
) -> Case:
    """Merge the duplicate `case` into `into` (same customer, both open).

    `case` closes with its timers paused (so a split resumes them), its
    timeline joins `into`'s, and it is linked as a duplicate. With
    `tell_customer` one message goes out on `into`, where the customer last
    spoke to us (or `channel`). Locks both cases in id order. Refuses merging
    a case into itself, across customers, and closed or already-merged cases.
    """
    if case.pk == into.pk:
        raise ValidationFailed("a case cannot be merged into itself", field="into_case_id")
    case, into = _lock_pair(case, into)
    if case.customer_id != into.customer_id:
        raise ValidationFailed(
            "only cases of the same customer can be merged", field="into_case_id"
        )
    for which, field in ((case, None), (into, "into_case_id")):
        if which.merged_into_id is not None:
            raise _refuse(f"case {which.reference} is already merged into another case", field)
        if which.status == Case.Status.CLOSED:
            raise _refuse(f"case {which.reference} is closed; only open cases merge", field)
    now = timezone.now()
    if tell_customer:
        _send(
            into,
            actor=actor,
            body=MERGE_MESSAGE.format(merged=case.reference, into=into.reference),
            subject=_subject(into, "Your two reports are now one case"),
            channel=channel,
            purpose="merge",
        )
    case.status_before_merge = case.status
    case.status = Case.Status.CLOSED
    case.closed_at = now
    case.merged_into = into
    case.save(
        update_fields=["status", "status_before_merge", "closed_at", "merged_into", "updated_at"]
    )
    for timer in _timers(case):
        timer_pause(timer=timer, at=now)
    CaseLink.objects.get_or_create(
        from_case=case, to_case=into, defaults={"kind": CaseLink.Kind.DUPLICATE}
    )
    case_event_record(
        case,
        kind=CaseEvent.Kind.MERGED,
        summary=f"Merged into {into.reference} as a duplicate",
        actor=actor,
        data={"into": into.reference, "told_customer": tell_customer},
    )
    case_event_record(
        into,
        kind=CaseEvent.Kind.MERGED_IN,
        summary=f"{case.reference} merged in as a duplicate",
        actor=actor,
        data={"merged": case.reference, "told_customer": tell_customer},
    )
    return into


@transaction.atomic
def case_split(*, case: Case, actor: ActorLike) -> Case:
    """Split a merged case back out: its status returns and its timers resume
    (unless it was waiting on the customer). Locks both cases in id order."""
    if case.merged_into_id is None:
        raise _refuse(f"case {case.reference} is not merged into another case")
    into = Case.objects.get(pk=case.merged_into_id)
    case, into = _lock_pair(case, into)
    if case.merged_into_id != into.pk:
        raise _refuse(f"case {case.reference} is not merged into another case")
    now = timezone.now()
    case.status = case.status_before_merge or Case.Status.NEW
    case.status_before_merge = ""
    case.closed_at = None
    case.merged_into = None
    case.save(
        update_fields=["status", "status_before_merge", "closed_at", "merged_into", "updated_at"]
    )
    if case.status != Case.Status.WAITING:
        for timer in _timers(case):
            timer_resume(timer=timer, at=now)
    CaseLink.objects.filter(from_case=case, to_case=into, kind=CaseLink.Kind.DUPLICATE).delete()
    case_event_record(
        case,
        kind=CaseEvent.Kind.SPLIT,
        summary=f"Split back out of {into.reference}",
        actor=actor,
        data={"from": into.reference},
    )
    case_event_record(
        into,
        kind=CaseEvent.Kind.SPLIT,
        summary=f"{case.reference} split back out",
        actor=actor,
        data={"split": case.reference},
    )
    return case
