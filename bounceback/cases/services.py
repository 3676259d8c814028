"""The recovery sequence: open, apologise, review, fix, follow up, document, close.

Rules for callers:
- Every change to a case goes through a function here. Each locks the case row
  first (then its timers), checks the step is allowed (raising Conflict with
  the reason when it is not), writes, and records a CaseEvent, all in one
  transaction.
- Messages to the customer are written to the outbox in that same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from bounceback.cases.models import Case, CaseEvent, CaseLink, Severity
from bounceback.cases.policy import hours, minutes, policy_for
from bounceback.cases.selectors import SPOKEN, reply_channel_for
from bounceback.coach.scoring import CoachContext, CoachResult, coach_score
from bounceback.customers.models import Channel, Customer
from bounceback.errors import Conflict, ValidationFailed
from bounceback.failuremodes.services import accepted_failure_mode
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
from bounceback.webhooks.events import case_payload, webhook_publish

SUBJECT = "case"


class TimerKind:
    APOLOGISE = "apologise"
    FIX = "fix"
    UPDATE = "update"
    FOLLOW_UP = "follow_up"
    DOCUMENT = "document"


# --- Helpers --------------------------------------------------------------------------


def _label(actor: Any) -> str:
    return str(actor) if actor is not None else "Bounceback"


# Timeline events other systems hear about (webhooks out), by CaseEvent kind.
_WEBHOOK_EVENTS = {
    "opened": "case.opened",
    "apologised": "case.apologised",
    "fixed": "case.fixed",
    "closed": "case.closed",
    "reopened": "case.reopened",
}


def _event(
    case: Case,
    *,
    kind: str,
    summary: str,
    actor: Any = None,
    data: dict[str, Any] | None = None,
    interaction: Interaction | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    if kind in _WEBHOOK_EVENTS:
        webhook_publish(event=_WEBHOOK_EVENTS[kind], payload=case_payload(case))
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        summary=summary[:300],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=_label(actor)[:200],
        data=data or {},
        interaction=interaction,
        at=at or timezone.now(),
    )


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


def _start(case: Case, kind: str, target: timedelta, **kwargs: Any) -> Timer:
    policy = policy_for(severity=case.severity)
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


def _text(value: str, field: str, *, required: bool = True, limit: int = 20_000) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"{field.replace('_', ' ')} is required", field=field)
    if len(value) > limit:
        raise ValidationFailed(f"{field} is longer than {limit} characters", field=field)
    return value


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
    case: Case, *, actor: Any, body: str, subject: str, channel: str | None, purpose: str
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


@transaction.atomic
def case_open(
    *,
    customer: Customer,
    summary: str,
    actor: Any,
    description: str = "",
    channel: str = Channel.EMAIL,
    failure_mode: Any = None,
    severity: str = Severity.NORMAL,
    site: Any = None,
    related_transaction: Any = None,
    assignee: Any = None,
    team: Any = None,
    opened_at: datetime | None = None,
) -> Case:
    summary = _text(summary, "summary", limit=200)
    description = _text(description, "description", required=False)
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
    opened = opened_at or timezone.now()
    from bounceback.segments import selectors as segments
    from bounceback.segments import services as segment_services

    # The customer's segments may raise the severity, shorten every timer of
    # the case (fixed here, applied in _start) and ask for senior handling.
    approach = segments.customer_approach(customer)
    requested_severity, severity = severity, approach.severity_for(severity)
    case = Case.objects.create(
        customer=customer,
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
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        created_at=opened,
    )
    case.reference = f"BB-{case.pk:05d}"
    case.save(update_fields=["reference"])
    opened_data = approach.opened_data(requested_severity)
    _event(
        case,
        kind="opened",
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
    _start(case, TimerKind.APOLOGISE, minutes(policy.apologise_minutes), start=opened)
    return case


_EDITABLE = {"summary", "description", "failure_mode", "severity", "site"}


@transaction.atomic
def case_update(*, case: Case, actor: Any, **changes: Any) -> Case:
    """Edit the case's details; each change is recorded with before and after."""
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValidationFailed(f"cannot change {min(unknown)} here", field=min(unknown))
    case = _lock(case)
    if "summary" in changes:
        changes["summary"] = _text(changes["summary"], "summary", limit=200)
    if "severity" in changes and changes["severity"] not in Severity.values:
        raise ValidationFailed(
            f"severity must be one of {', '.join(Severity.values)}", field="severity"
        )
    if "failure_mode" in changes and changes["failure_mode"] != case.failure_mode:
        # A case keeps a link made before its mode was retired, but a new link
        # must be to a mode the catalog stands behind.
        accepted_failure_mode(changes["failure_mode"])
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        before = getattr(case, name)
        if before != value:
            diff[name] = [
                str(before) if before is not None else None,
                str(value) if value is not None else None,
            ]
            setattr(case, name, value)
    if diff:
        case.save(update_fields=[*changes, "updated_at"])
        _event(case, kind="updated", summary=f"Changed {', '.join(diff)}", actor=actor, data=diff)
    return case


@transaction.atomic
def case_assign(*, case: Case, actor: Any, assignee: Any, team: Any = None) -> Case:
    case = _lock(case)
    if assignee is not None and not assignee.is_active:
        raise ValidationFailed("the assignee's account is disabled", field="assignee_id")
    team = team if team is not None else (assignee.team if assignee else case.team)
    before = [str(case.assignee) if case.assignee else None, str(case.team) if case.team else None]
    case.assignee = assignee
    case.team = team
    case.save(update_fields=["assignee", "team", "updated_at"])
    after = [str(assignee) if assignee else None, str(team) if team else None]
    _event(
        case,
        kind="assigned",
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
    actor: Any,
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
    body = _text(body, "body")
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
    _event(
        case,
        kind="apologised",
        summary=f"Apology sent ({verdict})" + (" with an override" if not result.passed else ""),
        actor=actor,
        data=data,
        interaction=interaction,
    )
    _meet(case, TimerKind.APOLOGISE, at=now)
    policy = policy_for(severity=case.severity)
    # The 20-minute rule: fix within the fix window, or update within it and
    # then keep updating on the cadence until fixed.
    _start(case, TimerKind.FIX, minutes(policy.fix_minutes), start=now)
    return case


# --- Step 2: review ----------------------------------------------------------------------------


@transaction.atomic
def case_review(
    *,
    case: Case,
    actor: Any,
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
    values = {
        "what_went_wrong": what_went_wrong,
        "impact": impact,
        "proposed_fix": proposed_fix,
        "proposal_response": proposal_response,
    }
    diff: dict[str, list[Any]] = {}
    for name, value in values.items():
        if value is None:
            continue
        value = _text(value, name, required=False)
        if value != getattr(case, name):
            diff[name] = [getattr(case, name), value]
            setattr(case, name, value)
    if proposal_accepted is not None and proposal_accepted != case.proposal_accepted:
        if not (case.proposed_fix or "").strip():
            raise ValidationFailed(
                "record what the customer proposes before accepting or declining it",
                field="proposed_fix",
            )
        diff["proposal_accepted"] = [case.proposal_accepted, proposal_accepted]
        case.proposal_accepted = proposal_accepted
    if not diff:
        return case
    if not case.what_went_wrong:
        raise ValidationFailed(
            "say what went wrong, in the customer's view", field="what_went_wrong"
        )
    case.reviewed_at = timezone.now()
    before = case.status
    case.status = (
        Case.Status.FIXING if case.proposal_accepted is not None else Case.Status.IN_REVIEW
    )
    case.save(
        update_fields=[
            *[n for n in values if n in diff],
            "proposal_accepted",
            "reviewed_at",
            "status",
            "updated_at",
        ]
    )
    if before != case.status:
        diff["status"] = [before, case.status]
    _event(case, kind="reviewed", summary="Review updated", actor=actor, data=diff)
    return case


# --- Step 3: fix -------------------------------------------------------------------------------


@transaction.atomic
def case_send_update(*, case: Case, actor: Any, body: str, channel: str | None = None) -> Case:
    """A progress update while not yet fixed; it restarts the update cadence."""
    case = _lock(case)
    _require_apologised(case)
    if case.fixed_at is not None:
        raise _refuse("the case is fixed; send the follow-up instead")
    body = _text(body, "body")
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
    _event(
        case,
        kind="update_sent",
        summary="Progress update sent",
        actor=actor,
        interaction=interaction,
    )
    _meet(case, TimerKind.FIX, TimerKind.UPDATE, at=now)
    policy = policy_for(severity=case.severity)
    _start(case, TimerKind.UPDATE, minutes(policy.update_minutes), start=now)
    return case


@transaction.atomic
def case_mark_fixed(
    *,
    case: Case,
    actor: Any,
    fix_summary: str,
    message: str = "",
    channel: str | None = None,
) -> Case:
    case = _lock(case)
    _require_apologised(case)
    if case.fixed_at is not None:
        raise _refuse("the case is already fixed")
    fix_summary = _text(fix_summary, "fix_summary")
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
    _event(
        case,
        kind="fixed",
        summary=f"Fixed: {fix_summary}",
        actor=actor,
        interaction=interaction,
    )
    _meet(case, TimerKind.FIX, TimerKind.UPDATE, at=now)
    policy = policy_for(severity=case.severity)
    cool_off_ends = now + hours(policy.cool_off_hours)
    # The follow-up is due once the cool-off is over; the warning at the end of
    # the cool-off tells the assignee it is time.
    _start(
        case,
        TimerKind.FOLLOW_UP,
        hours(policy.cool_off_hours + policy.follow_up_hours),
        start=now,
        warn_at=cool_off_ends,
    )
    documenting = any(t.met_at is None for t in _timers(case, TimerKind.DOCUMENT))
    if case.documented_at is None and not documenting:
        _start(case, TimerKind.DOCUMENT, hours(policy.document_hours), start=now)
    return case


# --- Step 4: follow up --------------------------------------------------------------------------


def cool_off_ends(case: Case) -> datetime | None:
    if case.fixed_at is None:
        return None
    return case.fixed_at + hours(policy_for(severity=case.severity).cool_off_hours)


@transaction.atomic
def case_follow_up(
    *, case: Case, actor: Any, body: str, channel: str | None = None, early_reason: str = ""
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
            f"the cool-off runs until {ends:%Y-%m-%d %H:%M} UTC; give the customer time, "
            "or give a reason to follow up early",
            field="early_reason",
        )
    body = _text(body, "body")
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
    _event(
        case,
        kind="follow_up_sent",
        summary="Follow-up sent",
        actor=actor,
        data=data,
        interaction=interaction,
    )
    _meet(case, TimerKind.FOLLOW_UP, at=now)
    return case


@transaction.atomic
def case_record_follow_up(
    *,
    case: Case,
    actor: Any,
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
        actor = actor if actor is not None else answered_by
    case = _lock(case)
    _require_open(case)
    if case.follow_up_sent_at is None:
        raise _refuse("send the follow-up before recording its answer")
    now = timezone.now()
    case.satisfied = satisfied
    case.will_return = will_return
    case.follow_up_comment = _text(comment, "comment", required=False)
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
        _event(
            case,
            kind="follow_up_recorded",
            summary=f"Customer is not satisfied; the recovery ends here{via}",
            actor=actor,
            data=data,
        )
    elif satisfied:
        _event(
            case,
            kind="follow_up_recorded",
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
        _event(
            case,
            kind="follow_up_recorded",
            summary=f"Customer is not satisfied{via}: recovery reopened",
            actor=actor,
            data=data,
        )
        _meet(case, TimerKind.FOLLOW_UP, at=now)
        policy = policy_for(severity=case.severity)
        _start(case, TimerKind.FIX, minutes(policy.fix_minutes), start=now)
        from bounceback.cases.timer_events import leads_for
        from bounceback.notifications.services import notify

        # A case nobody has taken yet (from the web form, an email) still gets
        # someone: its team's lead, else the leads.
        recipients = [case.assignee] if case.assignee is not None else leads_for(case)
        if recipients:
            notify(
                recipients=recipients,
                kind="recovery_reopened",
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
    *, case: Case, actor: Any, root_cause: str, what_was_done: str, prevention_idea: str
) -> Case:
    case = _lock(case)
    if case.status == Case.Status.CLOSED:
        raise _refuse("the case is closed; reopen it to change its documentation")
    if case.fixed_at is None and case.follow_up_recorded_at is None:
        raise _refuse("document the case once it is fixed")
    values = {
        "root_cause": _text(root_cause, "root_cause"),
        "what_was_done": _text(what_was_done, "what_was_done"),
        "prevention_idea": _text(prevention_idea, "prevention_idea"),
    }
    diff = {k: [getattr(case, k), v] for k, v in values.items() if getattr(case, k) != v}
    for name, value in values.items():
        setattr(case, name, value)
    case.documented_at = timezone.now()
    case.save(update_fields=[*values, "documented_at", "updated_at"])
    _event(
        case,
        kind="documented",
        summary="Root cause and prevention documented",
        actor=actor,
        data=diff,
    )
    _meet(case, TimerKind.DOCUMENT, at=case.documented_at)
    return case


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
def case_close(*, case: Case, actor: Any) -> Case:
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
    _event(case, kind="closed", summary="Case closed", actor=actor)
    return case


@transaction.atomic
def case_reopen(*, case: Case, actor: Any, reason: str) -> Case:
    case = _lock(case)
    if case.status != Case.Status.CLOSED:
        raise _refuse("only a closed case can be reopened")
    reason = _text(reason, "reason")
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
    _event(
        case, kind="reopened", summary=f"Reopened: {reason}", actor=actor, data={"reason": reason}
    )
    policy = policy_for(severity=case.severity)
    _start(case, TimerKind.FIX, minutes(policy.fix_minutes), start=now)
    return case


# --- Waiting on the customer -------------------------------------------------------------------


@transaction.atomic
def case_wait_on_customer(*, case: Case, actor: Any, reason: str = "") -> Case:
    """Pause every running timer until the customer answers."""
    case = _lock(case)
    _require_open(case)
    now = timezone.now()
    case.status_before_wait = case.status
    case.status = Case.Status.WAITING
    case.save(update_fields=["status", "status_before_wait", "updated_at"])
    for timer in _timers(case):
        timer_pause(timer=timer, at=now)
    _event(
        case,
        kind="waiting",
        summary="Waiting on the customer" + (f": {reason.strip()}" if reason.strip() else ""),
        actor=actor,
        data={"reason": reason.strip()},
    )
    return case


@transaction.atomic
def case_resume(*, case: Case, actor: Any) -> Case:
    """The customer answered: timers continue with the time they had left."""
    case = _lock(case)
    if case.status != Case.Status.WAITING:
        raise _refuse("the case is not waiting on the customer")
    _resume(case, actor=actor)
    return case


def _resume(case: Case, *, actor: Any) -> None:
    """Back to the status before the wait; timers continue with the time they had left.

    The caller holds the case lock and has checked the case is waiting.
    """
    now = timezone.now()
    case.status = case.status_before_wait or Case.Status.NEW
    case.status_before_wait = ""
    case.save(update_fields=["status", "status_before_wait", "updated_at"])
    for timer in _timers(case):
        timer_resume(timer=timer, at=now)
    _event(case, kind="resumed", summary="Customer answered: timers resumed", actor=actor)


@transaction.atomic
def case_log_customer_message(
    *,
    case: Case,
    actor: Any,
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
        body=_text(body, "body"),
        subject=subject,
        occurred_at=occurred_at,
        thread_ref=case.reference or "",
        author=actor,
        author_name=case.customer.name,
        source=source,
        external_id=external_id,
        metadata=metadata,
    )
    _event(
        case,
        kind="customer_message",
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
    actor: Any,
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
            body=_text(message, "message"),
            subject=_subject(case, subject or summary),
            channel=channel,
            purpose=kind,
        )
    event = _event(
        case, kind=kind, summary=summary, actor=actor, data=data, interaction=interaction
    )
    case.save(update_fields=["updated_at"])
    return event


CALL_MINUTES_MAX = 600


@transaction.atomic
def case_log_call(
    *,
    case: Case,
    actor: Any,
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
        body=_text(body, "body"),
        occurred_at=occurred_at,
        thread_ref=case.reference or "",
        author=actor,
        author_name=case.customer.name if inbound else "",
        metadata={"call_minutes": minutes_long} if minutes_long is not None else None,
    )
    length = f" ({minutes_long} min)" if minutes_long is not None else ""
    name = case.customer.name
    _event(
        case,
        kind="call_logged",
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
    *, case: Case, other: Case, actor: Any, kind: str = CaseLink.Kind.RELATED
) -> CaseLink:
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
        _event(
            case,
            kind="linked",
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
def policy_update(*, severity: str, actor: Any, **changes: int) -> Any:
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
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.save(update_fields=[*changes, "updated_at"])
    audit_record(
        action="policy_changed",
        actor=actor,
        target=f"policy:{severity}",
        data={name: [before[name], value] for name, value in changes.items()},
    )
    return policy
