"""Writes for recovery funds: grants, approvals, reversals, vouchers and allowance settings.

Rules every caller gets for free (and must not work around):
- A person's spend is serialised on their user row (`select_for_update`), so
  two grants by one person never both fit the last of a budget. Lock order is
  fixed: the approval request or grant row, then the person, then the case
  (taken by the case services).
- Approved spend counts against the REQUESTER's allowance (the person who
  granted), with the approver recorded as the ledger row's actor: the budget
  says what was spent on that person's cases, approvals say who allowed it.
  A granted-without-approval total therefore never exceeds the budget, while
  approved spend may take a person past it.
- Pre-approved playbook compensation is written to the ledger (marked
  `pre_approved`) but counts against neither limit.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role, role_rank
from bounceback.actors import ActorLike, actor_of
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record
from bounceback.cases.models import Case
from bounceback.cases.services import case_record_step
from bounceback.errors import Conflict, Forbidden, NotFound, ValidationFailed
from bounceback.funds import selectors
from bounceback.funds.models import (
    AllowanceOverride,
    AllowancePolicy,
    ApprovalRequest,
    Grant,
    LedgerEntry,
    Period,
    Voucher,
)
from bounceback.inputs import placeholders_refuse, text_field
from bounceback.notifications.services import notify
from bounceback.playbooks.models import CompensationKind, PlaybookCompensation
from bounceback.timers.models import Timer
from bounceback.timers.services import timer_cancel, timer_meet, timer_start
from bounceback.webhooks.events import case_payload, webhook_publish

# The effective allowance is a read; it lives in selectors and is re-exported for callers.
allowance_for = selectors.allowance_for

# Who approves, from the first level up: escalation never goes past executive.
APPROVAL_LEVELS = [Role.LEAD, Role.MANAGER, Role.EXECUTIVE]
APPROVAL_SUBJECT = "approval"
APPROVAL_TIMER_KIND = "decide"
MONEY_MAX = Decimal("1000000.00")
VOUCHER_PLACEHOLDER = "{{ voucher }}"
VALUE_PLACEHOLDER = "{{ value }}"
# No 0/O, 1/I/L: read aloud at a till without mistakes.
VOUCHER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
VOUCHER_LENGTH = 12


# --- Validation helpers -------------------------------------------------------------------


def _money(value: Any, field: str, *, allow_zero: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(
            f"{field.replace('_', ' ')} must be an amount", field=field
        ) from None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed(
            f"{field.replace('_', ' ')} must be more than 0"
            if not allow_zero
            else f"{field.replace('_', ' ')} cannot be negative",
            field=field,
        )
    if amount > MONEY_MAX:
        raise ValidationFailed(f"{field.replace('_', ' ')} is too large", field=field)
    return amount


def _currency(currency: str | None) -> str:
    business = settings.BOUNCEBACK_CURRENCY
    code = (currency or business).strip().upper()
    if code != business:
        raise ValidationFailed(
            f"recovery funds are kept in {business}; convert the amount to {business}",
            field="currency",
        )
    return code


def _person(actor: ActorLike, action: str) -> User:
    """The person whose allowance pays: the staff member, or a token's creator."""
    user = actor_of(actor).user
    if user is None or not user.is_active:
        raise Forbidden(f"{action} counts against a person's allowance: sign in as staff")
    return user


def _lock_person(user: Any) -> User:
    # The user row serialises one person's spending: every grant, approval and
    # reversal counting against them takes it before reading their balance.
    return User.objects.select_for_update().get(pk=user.pk)


def _level_index(role: str) -> int:
    return APPROVAL_LEVELS.index(Role(role)) if role in APPROVAL_LEVELS else 0


def _level_after(role: str) -> str:
    """The first approval level strictly above `role` (executive at most)."""
    rank = role_rank(role)
    for level in APPROVAL_LEVELS:
        if role_rank(level) > rank:
            return level
    return Role.EXECUTIVE


def _first_level(*, requester: Any, value: Decimal) -> str:
    """Above the requester's own role, and high enough that its policy limit covers `value`."""
    start = _level_index(_level_after(requester.role))
    for level in APPROVAL_LEVELS[start:]:
        if selectors.role_per_case_limit(level) >= value:
            return level
    return Role.EXECUTIVE


def _people_at(level: str) -> list[User]:
    return list(User.objects.filter(role=level, is_active=True).select_related(None).order_by("id"))


def _approval_url(request: ApprovalRequest) -> str:
    return f"/funds/approvals/{request.pk}/"


# The placeholders a grant's message may hold (written with any spacing).
_FILLED = ("value", "voucher")
_VALUE = re.compile(r"\{\{\s*value\s*\}\}")
_VOUCHER = re.compile(r"\{\{\s*voucher\s*\}\}")


def _render(message: str, *, voucher: Voucher | None, value: Decimal, currency: str) -> str:
    """The customer's message with `{{ value }}` and `{{ voucher }}` filled in.

    A voucher code the message does not mention is appended, so the customer
    always gets it.
    """
    text = _VALUE.sub(f"{value} {currency}", message)
    if voucher is None:
        return _VOUCHER.sub("", text)
    if _VOUCHER.search(text):
        return _VOUCHER.sub(voucher.code, text)
    return (
        f"{text.rstrip()}\n\nYour voucher code: {voucher.code} "
        f"({voucher.value} {voucher.currency}, valid until {voucher.expires_at:%Y-%m-%d})."
    )


def _voucher_code() -> str:
    raw = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, VOUCHER_LENGTH, 4))


def voucher_normalise(code: str) -> str:
    """A code as typed at a till (any case, spaces or dashes) in its stored form."""
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _voucher_create(grant: Grant, *, days: int | None) -> Voucher:
    code = _voucher_code()
    while Voucher.objects.filter(code=code).exists():  # 31^12 codes: practically never loops
        code = _voucher_code()
    return Voucher.objects.create(
        grant=grant,
        code=code,
        value=grant.value,
        currency=grant.currency,
        expires_at=timezone.now() + dt.timedelta(days=days or settings.BOUNCEBACK_VOUCHER_DAYS),
    )


def _ledger(
    grant: Grant,
    *,
    kind: str,
    amount: Decimal,
    actor: ActorLike,
    period_start: dt.date,
) -> LedgerEntry:
    return LedgerEntry.objects.create(
        kind=kind,
        grant=grant,
        person_id=grant.granted_by_id,
        team_id=grant.team_id,
        site_id=grant.site_id,
        failure_mode_id=grant.failure_mode_id,
        amount=amount,
        currency=grant.currency,
        pre_approved=grant.pre_approved,
        period_start=period_start,
        actor=actor_of(actor).user,
    )


def _grant_payload(grant: Grant) -> dict[str, Any]:
    payload = case_payload(grant.case)
    payload["grant"] = {
        "id": grant.pk,
        "kind": grant.kind,
        "value": str(grant.value),
        "currency": grant.currency,
        "estimated": grant.estimated,
        "state": grant.state,
        "pre_approved": grant.pre_approved,
        "exception_to_policy": grant.exception_to_policy,
        "voucher_code": grant.voucher.code if hasattr(grant, "voucher") else None,
    }
    return payload


def _pre_approval(
    *, case: Case, kind: str, value: Decimal, currency: str
) -> PlaybookCompensation | None:
    """The playbook compensation this grant fits, if any.

    Looks at the case's breakdown's playbook version, then the current versions
    of the failure mode's playbooks; a row applies to the customer's segment
    slugs (or "all"), the same kind, and covers what was already given of that
    kind on this case under pre-approval plus this grant.
    """
    version_ids: list[int] = []
    if case.breakdown_id:
        version_id = (
            Case.objects.filter(pk=case.pk).values_list("breakdown__playbook_version_id", flat=True)
        ).first()
        if version_id:
            version_ids.append(version_id)
    if case.failure_mode_id:
        from bounceback.playbooks.models import Playbook

        version_ids += [
            v
            for v in Playbook.objects.filter(
                failure_mode_id=case.failure_mode_id, archived=False, current__isnull=False
            ).values_list("current_id", flat=True)
            if v is not None
        ]
    if not version_ids:
        return None
    _, _, slugs = selectors.segment_lift(case.customer)
    already = selectors.cents(
        Grant.objects.filter(
            case_id=case.pk, kind=kind, pre_approved=True, state=Grant.State.GRANTED
        ).aggregate(total=Sum("value"))["total"]
    )
    fits = (
        PlaybookCompensation.objects.filter(
            version_id__in=version_ids,
            kind=kind,
            currency=currency,
            segment__in=["all", *slugs],
            amount__gte=already + value,
        )
        .order_by("amount", "id")
        .first()
    )
    return fits


# --- Grants -------------------------------------------------------------------------------


# Long on purpose: every check of a gesture against the allowance, the approval ladder
# and the budget runs under the person's lock, before anything is written; one
# function keeps "validate first, then write" visible in one place.
def grant_create(
    *,
    case: Case,
    actor: ActorLike,
    kind: str,
    value: Decimal | str | int,
    currency: str | None = None,
    reason: str,
    estimated: bool = False,
    customer_proposed: bool = False,
    message: str = "",
    exception_to_policy: bool = False,
    policy_bent: str = "",
    voucher_days: int | None = None,
) -> Grant:
    """Give the customer a gesture on `case`, at once when it fits, else as an approval request.

    It takes effect at once (ledger row, case step, message to the customer,
    a voucher for kind voucher) when this person's grants on the case plus
    this one fit their per-case limit (lifted by the customer's segment tier)
    and the value fits what is left of their period budget, or when a playbook
    pre-approves it. Otherwise it waits on an approver (state
    pending_approval), with a timer; the message is sent only once approved.
    """
    person = _person(actor, "a grant")
    if not person.has_perm("funds.add_grant"):
        raise Forbidden("your role may not grant compensation")
    if kind not in CompensationKind.values:
        raise ValidationFailed(
            f"kind must be one of {', '.join(CompensationKind.values)}", field="kind"
        )
    amount = _money(value, "value")
    code = _currency(currency)
    reason = text_field(reason, field="reason", required=True)
    message = placeholders_refuse((message or "").strip(), field="message", known=_FILLED)
    policy_bent = (policy_bent or "").strip()
    if exception_to_policy and not policy_bent:
        raise ValidationFailed("say which rule this exception bends", field="policy_bent")
    if len(policy_bent) > 300:
        raise ValidationFailed(
            "policy bent is too long (at most 300 characters)", field="policy_bent"
        )
    if voucher_days is not None:
        if kind != CompensationKind.VOUCHER:
            raise ValidationFailed("only a voucher has a validity", field="voucher_days")
        if not 1 <= voucher_days <= 3660:
            raise ValidationFailed("a voucher is valid for 1 to 3660 days", field="voucher_days")
    if case.status == Case.Status.CLOSED:
        closed = case.closed_at or timezone.now()
        window = dt.timedelta(days=settings.BOUNCEBACK_GRANT_AFTER_CLOSE_DAYS)
        if timezone.now() - closed > window:
            raise Conflict(
                f"case {case.reference} closed more than "
                f"{settings.BOUNCEBACK_GRANT_AFTER_CLOSE_DAYS} days ago; reopen it to grant"
            )
    if message and case.status in (Case.Status.CLOSED, Case.Status.WAITING):
        raise ValidationFailed(
            f"case {case.reference} is {case.get_status_display().lower()}: reopen or resume "
            "it to write to the customer, or grant without a message",
            field="message",
        )

    with transaction.atomic():
        person = _lock_person(person)
        # The case next (person, then case): two people granting on one case
        # must not both take the same pre-approved playbook amount.
        Case.objects.select_for_update().filter(pk=case.pk).exists()
        allowance = selectors.allowance_for(user=person, customer=case.customer)
        pre = _pre_approval(case=case, kind=kind, value=amount, currency=code)
        earlier = Grant.objects.filter(
            case_id=case.pk,
            granted_by_id=person.pk,
            pre_approved=False,
            state__in=[Grant.State.GRANTED, Grant.State.PENDING],
        ).aggregate(
            total=Sum("value"),
            waiting=Sum("value", filter=Q(state=Grant.State.PENDING)),
        )
        on_case = selectors.cents(earlier["total"])
        waiting = selectors.cents(earlier["waiting"])
        over: list[str] = []
        if pre is None:
            if on_case + amount > allowance.per_case_limit:
                over.append(
                    _per_case_reason(
                        limit=allowance.per_case_limit,
                        amount=amount,
                        on_case=on_case,
                        waiting=waiting,
                        currency=code,
                    )
                )
            if amount > allowance.remaining:
                over.append(
                    f"it is more than the {max(allowance.remaining, Decimal(0))} {code} left "
                    f"in your {allowance.period}ly budget"
                )
        grant = Grant.objects.create(
            case=case,
            customer_id=case.customer_id,
            granted_by=person,
            kind=kind,
            value=amount,
            currency=code,
            estimated=estimated,
            reason=reason,
            customer_proposed=customer_proposed,
            message=message,
            state=Grant.State.PENDING if over else Grant.State.GRANTED,
            exception_to_policy=exception_to_policy,
            policy_bent=policy_bent,
            pre_approved=pre is not None,
            playbook_compensation=pre,
            failure_mode_id=case.failure_mode_id,
            site_id=case.site_id,
            team_id=person.team_id,
            decided_at=None if over else timezone.now(),
        )
        if over:
            # The level answers for the whole of this person's gestures on the
            # case, so asking three times for 500 is asking once for 1,500.
            _request_approval(
                grant, person=person, why="; ".join(over), case_total=on_case + amount
            )
            return grant
        _take_effect(
            grant,
            actor=person,
            ledger_kind=LedgerEntry.Kind.GRANT,
            period_start=allowance.period_start,
            voucher_days=voucher_days,
            summary_prefix="Pre-approved: " if pre is not None else "",
        )
    return grant


def _per_case_reason(
    *, limit: Decimal, amount: Decimal, on_case: Decimal, waiting: Decimal, currency: str
) -> str:
    """Why a gesture goes over the per-case limit, saying what already counts against it.

    A request still waiting for approval counts: staff who asked for 80 of a 100
    limit and now offer 30 are told so, not that 30 is "above the allowance"."""
    if not on_case:
        return f"it is above your per-case limit of {limit} {currency}"
    granted = on_case - waiting
    parts = []
    if granted:
        parts.append(f"{granted} {currency} already granted")
    if waiting:
        parts.append(f"{waiting} {currency} still waiting for approval")
    return (
        f"with {' and '.join(parts)} on this case, it would take you to "
        f"{on_case + amount} {currency}, over your per-case limit of {limit} {currency}"
    )


def _take_effect(
    grant: Grant,
    *,
    actor: ActorLike,
    ledger_kind: str,
    period_start: dt.date,
    voucher_days: int | None = None,
    summary_prefix: str = "",
    quiet_if_unreachable: bool = False,
) -> None:
    """Ledger row, voucher, case step with the customer's message, webhook."""
    _ledger(grant, kind=ledger_kind, amount=grant.value, actor=actor, period_start=period_start)
    voucher = (
        _voucher_create(grant, days=voucher_days)
        if grant.kind == CompensationKind.VOUCHER
        else None
    )
    summary = (
        f"{summary_prefix}{grant.get_kind_display()} of {grant.value} {grant.currency}"
        f"{' (estimated)' if grant.estimated else ''} granted by {grant.granted_by}"
    )
    data = {
        "grant_id": grant.pk,
        "kind": grant.kind,
        "value": str(grant.value),
        "currency": grant.currency,
        "voucher": voucher.code if voucher else None,
        "exception_to_policy": grant.exception_to_policy,
    }
    body = (
        _render(grant.message, voucher=voucher, value=grant.value, currency=grant.currency)
        if grant.message
        else ""
    )
    _step(
        grant.case,
        actor=actor,
        kind="compensation_granted",
        summary=summary,
        data=data,
        message=body,
        quiet_if_unreachable=quiet_if_unreachable,
    )
    if grant.case.drill_id is None:  # a drill's gesture stays in the sandbox
        webhook_publish(event="compensation.granted", payload=_grant_payload(grant))


def _step(
    case: Case,
    *,
    actor: ActorLike,
    kind: str,
    summary: str,
    data: dict[str, Any],
    message: str = "",
    quiet_if_unreachable: bool = False,
) -> None:
    """A case step; a message that cannot go out is refused, or (for decisions) noted.

    An approval decided while the case is closed or waiting, or for a customer
    we can no longer reach, still takes effect: staff tell the customer
    themselves, and the step says so.
    """
    if message and quiet_if_unreachable:
        fresh = Case.objects.only("status").get(pk=case.pk)
        if fresh.status in (Case.Status.CLOSED, Case.Status.WAITING):
            case_record_step(
                case=case,
                actor=actor,
                kind=kind,
                summary=(
                    f"{summary} (customer not messaged: case {fresh.get_status_display().lower()})"
                ),
                data={**data, "message_sent": False},
            )
            return
        try:
            with transaction.atomic():
                case_record_step(
                    case=case, actor=actor, kind=kind, summary=summary, data=data, message=message
                )
        except ValidationFailed as exc:
            case_record_step(
                case=case,
                actor=actor,
                kind=kind,
                summary=f"{summary} (customer not messaged: {exc.message})",
                data={**data, "message_sent": False},
            )
        return
    case_record_step(case=case, actor=actor, kind=kind, summary=summary, data=data, message=message)


def _approval_timer(request: ApprovalRequest, start: dt.datetime | None = None) -> Timer:
    timer = timer_start(
        start=start,
        subject_type=APPROVAL_SUBJECT,
        subject_id=request.pk,
        kind=APPROVAL_TIMER_KIND,
        target=dt.timedelta(minutes=settings.BOUNCEBACK_APPROVAL_MINUTES),
        warn_fraction=None,
    )
    request.due_at = timer.due_at
    return timer


def _running_timers(request: ApprovalRequest) -> list[Timer]:
    return list(
        Timer.objects.for_subject(APPROVAL_SUBJECT, request.pk)
        .filter(kind=APPROVAL_TIMER_KIND)
        .exclude(state__in=[Timer.State.MET, Timer.State.CANCELLED])
        .filter(met_at__isnull=True)
    )


def _request_approval(
    grant: Grant, *, person: User, why: str, case_total: Decimal | None = None
) -> ApprovalRequest:
    level = _first_level(requester=person, value=max(grant.value, case_total or grant.value))
    request = ApprovalRequest.objects.create(
        grant=grant, requested_by=person, level=level, asked_value=grant.value, why=why[:300]
    )
    _approval_timer(request)
    request.save(update_fields=["due_at"])
    notify(
        recipients=[u for u in _people_at(level) if u.pk != person.pk],
        kind="approval_requested",
        title=(
            f"Approve {grant.get_kind_display().lower()} of {grant.value} {grant.currency} "
            f"on {grant.case.reference or grant.case_id}?"
        ),
        body=f"{person} asks: {grant.reason}\nWhy it needs approval: {why}",
        url=_approval_url(request),
    )
    _step(
        grant.case,
        actor=person,
        kind="compensation_requested",
        summary=(
            f"{grant.get_kind_display()} of {grant.value} {grant.currency} waits for "
            f"{Role(level).label.lower()} approval: {why}"
        ),
        data={"grant_id": grant.pk, "approval_id": request.pk, "level": level},
    )
    return request


# --- Approvals ----------------------------------------------------------------------------


def _lock_request(request: ApprovalRequest) -> ApprovalRequest:
    return (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("grant", "grant__case", "grant__case__customer", "requested_by")
        .get(pk=request.pk)
    )


def _check_approver(request: ApprovalRequest, actor: ActorLike) -> User:
    person = _person(actor, "a decision")
    if not person.has_perm("funds.decide_approvalrequest"):
        raise Forbidden("your role may not decide approval requests")
    if person.pk == request.requested_by_id:
        raise Forbidden("you cannot approve your own grant: someone else decides it")
    if role_rank(person.role) < role_rank(request.level):
        raise Forbidden(f"this request waits on a {Role(request.level).label.lower()} or above")
    return person


DECISIONS = ("approve", "reduce", "refuse")


# Long on purpose: approve, reduce and refuse share the same locks and checks, in the
# fixed order (request, then the requester's row, then the case); split, the lock
# order would be spread over helpers that must not be called alone.
def approval_decide(
    *,
    request: ApprovalRequest,
    actor: ActorLike,
    decision: str,
    value: Decimal | str | int | None = None,
    reason: str = "",
    message: str | None = None,
) -> ApprovalRequest:
    """Approve, reduce or refuse a pending grant.

    The approver must sit at the request's level or above, not be the
    requester, and the value allowed must fit their own per-case limit (above
    it they escalate instead). A reason is required to reduce or refuse;
    reducing needs 0 < value < asked. An approval or reduction takes effect
    as a grant would (ledger row against the requester, voucher, the message
    to the customer, `message` replacing the original if given); a refusal
    writes a zero ledger row and tells only the requester.
    """
    if decision not in DECISIONS:
        raise ValidationFailed("decision must be approve, reduce or refuse", field="decision")
    reason = (reason or "").strip()
    if decision != "approve" and not reason:
        raise ValidationFailed(f"say why you {decision} it", field="reason")
    if len(reason) > 5000:
        raise ValidationFailed("reason is too long (at most 5000 characters)", field="reason")
    decided: Decimal | None = None
    if decision == "reduce":
        if value is None:
            raise ValidationFailed("give the reduced value", field="value")
        decided = _money(value, "value")
    with transaction.atomic():
        request = _lock_request(request)
        if request.state != ApprovalRequest.State.PENDING:
            raise Conflict(f"this request was already {request.get_state_display().lower()}")
        person = _check_approver(request, actor)
        grant = request.grant
        if decided is not None and decided >= request.asked_value:
            raise ValidationFailed(
                f"a reduced value is less than the {request.asked_value} asked", field="value"
            )
        allowed = decided if decided is not None else request.asked_value
        if decision != "refuse":
            own = selectors.allowance_for(user=person, customer=grant.customer).per_case_limit
            # What the requester already has granted on this case counts too:
            # an approver's limit is per case, not per request.
            others = selectors.cents(
                Grant.objects.filter(
                    case_id=grant.case_id,
                    granted_by_id=grant.granted_by_id,
                    pre_approved=False,
                    state=Grant.State.GRANTED,
                )
                .exclude(pk=grant.pk)
                .aggregate(total=Sum("value"))["total"]
            )
            if others + allowed > own:
                raise Forbidden(
                    f"{allowed} {grant.currency} (with {others} already on this case) is above "
                    f"your own per-case limit of {own}: escalate it to the next level"
                )
        requester = _lock_person(request.requested_by)
        now = timezone.now()
        start = selectors.allowance_for(user=requester).period_start
        request.approver = person
        request.decision_reason = reason
        request.decided_at = now
        grant.decided_at = now
        if decision == "refuse":
            request.state = ApprovalRequest.State.REFUSED
            grant.state = Grant.State.REFUSED
            grant.save(update_fields=["state", "decided_at"])
            _ledger(
                grant,
                kind=LedgerEntry.Kind.REFUSAL,
                amount=Decimal("0.00"),
                actor=person,
                period_start=start,
            )
            _step(
                grant.case,
                actor=person,
                kind="compensation_refused",
                summary=(
                    f"{grant.get_kind_display()} of {grant.value} {grant.currency} refused by "
                    f"{person}: {reason}"
                ),
                data={"grant_id": grant.pk, "approval_id": request.pk},
            )
        else:
            request.state = (
                ApprovalRequest.State.REDUCED
                if decided is not None
                else ApprovalRequest.State.APPROVED
            )
            request.decided_value = allowed
            grant.state = Grant.State.GRANTED
            grant.value = allowed
            if message is not None and message.strip():
                grant.message = placeholders_refuse(message.strip(), field="message", known=_FILLED)
            grant.save(update_fields=["state", "value", "decided_at", "message"])
            verb = (
                "approved"
                if decided is None
                else f"reduced from {request.asked_value} and approved"
            )
            _take_effect(
                grant,
                actor=person,
                ledger_kind=(
                    LedgerEntry.Kind.APPROVAL if decided is None else LedgerEntry.Kind.REDUCTION
                ),
                period_start=start,
                summary_prefix=f"{verb.capitalize()} by {person}: ",
                quiet_if_unreachable=True,
            )
        request.save(
            update_fields=["state", "approver", "decided_value", "decision_reason", "decided_at"]
        )
        for timer in _running_timers(request):
            timer_meet(timer=timer, at=now)
        notify(
            recipients=[request.requested_by],
            kind="approval_decided",
            title=(
                f"Your {grant.get_kind_display().lower()} on "
                f"{grant.case.reference or grant.case_id} "
                f"was {request.get_state_display().lower()}"
            ),
            body=reason,
            url=f"/cases/{grant.case_id}/",
        )
        payload = _grant_payload(grant)
        payload["approval"] = {
            "id": request.pk,
            "state": request.state,
            "level": request.level,
            "asked_value": str(request.asked_value),
            "decided_value": str(request.decided_value)
            if request.decided_value is not None
            else None,
            "reason": request.decision_reason,
        }
        if grant.case.drill_id is None:  # a drill's approval stays in the sandbox
            webhook_publish(event="approval.decided", payload=payload)
    return request


def _move_up(
    request: ApprovalRequest, *, by: Any, why: str, start: dt.datetime | None = None
) -> ApprovalRequest:
    """One level up (executive stays executive), a fresh timer, the new level told."""
    now = timezone.now()
    old = request.level
    request.level = APPROVAL_LEVELS[min(_level_index(old) + 1, len(APPROVAL_LEVELS) - 1)]
    request.escalated_at = now
    request.escalations += 1
    # A timer that ran out starts the next from its own deadline, so a worker
    # that fired late does not give the next level extra time.
    _approval_timer(request, start=start)
    request.save(update_fields=["level", "escalated_at", "escalations", "due_at"])
    grant = request.grant
    notify(
        recipients=[u for u in _people_at(request.level) if u.pk != request.requested_by_id],
        kind="approval_escalated",
        title=(
            f"Approval waiting: {grant.get_kind_display().lower()} of {grant.value} "
            f"{grant.currency} on {grant.case.reference or grant.case_id}"
        ),
        body=why,
        url=_approval_url(request),
    )
    if request.level != old:
        _step(
            grant.case,
            actor=by,
            kind="compensation_escalated",
            summary=f"Approval moved up to {Role(request.level).label.lower()}s: {why}",
            data={"grant_id": grant.pk, "approval_id": request.pk, "level": request.level},
        )
    return request


def approval_escalate(
    *, request: ApprovalRequest, actor: ActorLike, reason: str
) -> ApprovalRequest:
    """Send a pending request up one level (an approver whose limit it exceeds, say)."""
    reason = text_field(reason, field="reason", max_length=1000, required=True)
    with transaction.atomic():
        request = _lock_request(request)
        if request.state != ApprovalRequest.State.PENDING:
            raise Conflict(f"this request was already {request.get_state_display().lower()}")
        person = _person(actor, "an escalation")
        if not person.has_perm("funds.decide_approvalrequest"):
            raise Forbidden("your role may not escalate approval requests")
        if role_rank(person.role) < role_rank(request.level):
            raise Forbidden(f"this request waits on a {Role(request.level).label.lower()} or above")
        if request.level == APPROVAL_LEVELS[-1]:
            raise Conflict("this request is already with senior management")
        for timer in _running_timers(request):
            timer_cancel(timer=timer)
            if timer.state == Timer.State.BREACHED:
                timer_meet(timer=timer)
        return _move_up(request, by=person, why=f"{person}: {reason}")


def approval_timer_ran_out(*, request: ApprovalRequest, timer: Timer) -> ApprovalRequest | None:
    """The request's timer ran out: it moves up a level (or tells executives again).

    Called by the timer handler inside the worker's transaction, with the
    fired timer: it is closed here so it stops escalating on its own.
    """
    request = _lock_request(request)
    if request.state != ApprovalRequest.State.PENDING:
        timer_meet(timer=timer)
        return None
    timer_meet(timer=timer)
    minutes = settings.BOUNCEBACK_APPROVAL_MINUTES
    return _move_up(
        request,
        by=None,
        why=f"no decision within {minutes} minutes at {Role(request.level).label.lower()} level",
        start=timer.due_at,
    )


# --- Reversals and vouchers ---------------------------------------------------------------


def grant_reverse(*, grant: Grant, actor: ActorLike, reason: str) -> Grant:
    """Undo a grant in effect: a negative ledger row in the period it counted in.

    A redeemed voucher cannot be reversed (the money is spent); an unredeemed
    one is voided. Pending grants are refused through their approval instead.
    """
    person = _person(actor, "a reversal")
    if not person.has_perm("funds.reverse_grant"):
        raise Forbidden("your role may not reverse grants")
    reason = text_field(reason, field="reason", required=True)
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update(of=("self",)).select_related("case").get(pk=grant.pk)
        )
        if grant.state == Grant.State.PENDING:
            raise Conflict("this grant waits for approval: refuse it instead")
        if grant.state != Grant.State.GRANTED:
            raise Conflict(
                f"this grant is {grant.get_state_display().lower()}; "
                "only a grant in effect can be reversed"
            )
        voucher = Voucher.objects.select_for_update().filter(grant=grant).first()
        if voucher is not None and voucher.redeemed_at is not None:
            raise Conflict(
                f"voucher {voucher.code} was redeemed on {voucher.redeemed_at:%Y-%m-%d}; "
                "it cannot be reversed"
            )
        _lock_person(grant.granted_by)
        spent = list(
            grant.ledger_entries.exclude(kind=LedgerEntry.Kind.REVERSAL)
            .filter(amount__gt=0)
            .order_by("id")
            .values_list("amount", "period_start")
        )
        now = timezone.now()
        for amount, start in spent:
            _ledger(
                grant,
                kind=LedgerEntry.Kind.REVERSAL,
                amount=-amount,
                actor=person,
                period_start=start,
            )
        if voucher is not None:
            voucher.voided_at = now
            voucher.save(update_fields=["voided_at"])
        grant.state = Grant.State.REVERSED
        grant.reversed_at = now
        grant.reversed_by = person
        grant.reversal_reason = reason
        grant.save(update_fields=["state", "reversed_at", "reversed_by", "reversal_reason"])
        audit_record(
            action=AuditEvent.Action.GRANT_REVERSED,
            actor=person,
            target=f"grant {grant.pk}",
            data={"grant_id": grant.pk, "value": str(grant.value), "reason": reason},
        )
        case_record_step(
            case=grant.case,
            actor=person,
            kind="compensation_reversed",
            summary=(
                f"{grant.get_kind_display()} of {grant.value} {grant.currency} reversed: {reason}"
            ),
            data={"grant_id": grant.pk},
        )
    return grant


def voucher_find(*, code: str) -> Voucher:
    """The voucher with this code (spaces and case forgiven); NotFound otherwise."""
    voucher = Voucher.objects.select_related("grant").filter(code=voucher_normalise(code)).first()
    if voucher is None:
        raise NotFound("no voucher with this code", field="code")
    return voucher


def voucher_redeem(*, code: str, by: str, reference: str = "") -> Voucher:
    """Spend a voucher, once: unknown is a 404; used, expired or reversed a 409."""
    by = text_field(by, field="by", max_length=120, required=True)
    reference = (reference or "").strip()
    if len(reference) > 120:
        raise ValidationFailed("reference is too long (at most 120 characters)", field="reference")
    with transaction.atomic():
        found = voucher_find(code=code)
        voucher = Voucher.objects.select_for_update().get(pk=found.pk)
        now = timezone.now()
        if voucher.redeemed_at is not None:
            raise Conflict(
                "voucher already redeemed on "
                f"{timezone.localtime(voucher.redeemed_at):%d %b %Y, %H:%M %Z}",
                field="code",
                code="voucher_redeemed",
            )
        if voucher.voided_at is not None:
            raise Conflict("voucher was withdrawn", field="code", code="voucher_void")
        if voucher.expires_at <= now:
            raise Conflict(
                f"voucher expired on {voucher.expires_at:%Y-%m-%d}",
                field="code",
                code="voucher_expired",
            )
        # A conditional write, not only the row lock: SQLite ignores FOR
        # UPDATE, and two tills must never both spend one voucher.
        spent = Voucher.objects.filter(
            pk=voucher.pk, redeemed_at__isnull=True, voided_at__isnull=True, expires_at__gt=now
        ).update(redeemed_at=now, redeemed_by=by, redeemed_reference=reference)
        if not spent:
            raise Conflict("voucher already redeemed", field="code", code="voucher_redeemed")
        voucher.redeemed_at, voucher.redeemed_by, voucher.redeemed_reference = now, by, reference
    return voucher


# --- Allowance settings -------------------------------------------------------------------


def _check_rules_perm(actor: ActorLike) -> User:
    person = _person(actor, "changing allowances")
    if not person.has_perm("funds.change_allowancepolicy"):
        raise Forbidden("only managers set allowances")
    return person


def _check_below(person: User, *, role: str, whose: str) -> None:
    """Allowances are set from above: a manager sets agents' and leads', not their own
    rank's or a more senior one's (administrators set anyone's)."""
    if person.role == Role.ADMIN or person.is_superuser:
        return
    if role in Role.values and role_rank(role) >= role_rank(person.role):
        raise Forbidden(f"only someone more senior than {whose} sets its allowance")


def _period(period: str | None, *, blank_ok: bool) -> str:
    value = (period or "").strip()
    if not value and blank_ok:
        return ""
    if value not in Period.values:
        raise ValidationFailed("period must be week, month or quarter", field="period")
    return value


def allowance_policy_set(
    *,
    role: str,
    actor: ActorLike,
    per_case_limit: Decimal | str | int,
    period: str,
    period_budget: Decimal | str | int,
) -> AllowancePolicy:
    """Set what everyone in `role` may grant without asking (audited)."""
    person = _check_rules_perm(actor)
    if role not in Role.values:
        raise ValidationFailed(f"role must be one of {', '.join(Role.values)}", field="role")
    _check_below(person, role=role, whose=f"the {Role(role).label.lower()} role")
    per_case = _money(per_case_limit, "per_case_limit", allow_zero=True)
    budget = _money(period_budget, "period_budget", allow_zero=True)
    period = _period(period, blank_ok=False)
    if per_case > budget:
        raise ValidationFailed(
            "the per-case limit cannot be more than the period budget", field="per_case_limit"
        )
    with transaction.atomic():
        before = selectors.role_policy(role)
        old = (str(before.per_case_limit), str(before.period_budget), before.period)
        policy, _ = AllowancePolicy.objects.select_for_update().update_or_create(
            role=role,
            defaults={
                "per_case_limit": per_case,
                "period_budget": budget,
                "period": period,
                "currency": settings.BOUNCEBACK_CURRENCY,
                "updated_by": person,
            },
        )
        audit_record(
            action=AuditEvent.Action.ALLOWANCE_CHANGED,
            actor=person,
            target=f"role {role}",
            data={
                "role": role,
                "before": {"per_case_limit": old[0], "period_budget": old[1], "period": old[2]},
                "after": {
                    "per_case_limit": str(per_case),
                    "period_budget": str(budget),
                    "period": period,
                },
            },
        )
    return policy


def allowance_override_set(
    *,
    user: User,
    actor: ActorLike,
    per_case_limit: Decimal | str | int | None = None,
    period_budget: Decimal | str | int | None = None,
    period: str | None = None,
) -> AllowanceOverride | None:
    """Give one person their own figures; all blank removes the override (audited)."""
    person = _check_rules_perm(actor)
    if getattr(user, "pk", None) == person.pk:
        raise Forbidden("nobody sets their own allowance: ask someone more senior")
    _check_below(person, role=getattr(user, "role", ""), whose=str(user))
    per_case = (
        None
        if per_case_limit in (None, "")
        else _money(per_case_limit, "per_case_limit", allow_zero=True)
    )
    budget = (
        None
        if period_budget in (None, "")
        else _money(period_budget, "period_budget", allow_zero=True)
    )
    period = _period(period, blank_ok=True)
    with transaction.atomic():
        existing = AllowanceOverride.objects.select_for_update().filter(user_id=user.pk).first()
        before = (
            {
                "per_case_limit": str(existing.per_case_limit)
                if existing.per_case_limit is not None
                else None,
                "period_budget": str(existing.period_budget)
                if existing.period_budget is not None
                else None,
                "period": existing.period,
            }
            if existing
            else None
        )
        result: AllowanceOverride | None
        if per_case is None and budget is None and not period:
            if existing:
                existing.delete()
            result = None
        else:
            result, _ = AllowanceOverride.objects.update_or_create(
                user_id=user.pk,
                defaults={
                    "per_case_limit": per_case,
                    "period_budget": budget,
                    "period": period,
                    "updated_by": person,
                },
            )
        audit_record(
            action=AuditEvent.Action.ALLOWANCE_CHANGED,
            actor=person,
            target=f"user {user.pk}",
            data={
                "user_id": user.pk,
                "before": before,
                "after": {
                    "per_case_limit": str(per_case) if per_case is not None else None,
                    "period_budget": str(budget) if budget is not None else None,
                    "period": period,
                }
                if result
                else None,
            },
        )
    return result
