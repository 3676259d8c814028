"""Reads: allowances (effective limits), balances, spend reports, approval queues, exceptions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.accounts.roles import ROLE_ORDER, Role, role_rank
from bounceback.errors import Forbidden, ValidationFailed
from bounceback.funds.models import (
    DEFAULT_POLICIES,
    AllowanceOverride,
    AllowancePolicy,
    ApprovalRequest,
    Grant,
    LedgerEntry,
    Period,
)

if TYPE_CHECKING:
    from bounceback.cases.models import Case
    from bounceback.customers.models import Customer

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def cents(amount: Decimal | None) -> Decimal:
    """A sum as money: SQLite's SUM drops trailing zeros, NULL means nothing."""
    return (amount or ZERO).quantize(CENT)


def period_start(period: str, on: dt.date | None = None) -> dt.date:
    """First day of the week (Monday), month or quarter holding `on` (today, local time)."""
    day = on or timezone.localdate()
    if period == Period.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if period == Period.QUARTER:
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(day=1)


def period_end(period: str, start: dt.date) -> dt.date:
    """The day after the period starting at `start` ends."""
    if period == Period.WEEK:
        return start + dt.timedelta(days=7)
    months = 3 if period == Period.QUARTER else 1
    month = start.month - 1 + months
    return start.replace(year=start.year + month // 12, month=month % 12 + 1, day=1)


def role_policy(role: str) -> AllowancePolicy:
    """The role's policy row, or an unsaved one holding the defaults."""
    policy = AllowancePolicy.objects.filter(role=role).first()
    if policy is not None:
        return policy
    per_case, budget, period = DEFAULT_POLICIES.get(role, DEFAULT_POLICIES[Role.AGENT])
    return AllowancePolicy(
        role=role,
        per_case_limit=per_case,
        period_budget=budget,
        period=period,
        currency=settings.BOUNCEBACK_CURRENCY,
    )


def allowance_policies() -> list[AllowancePolicy]:
    """Every role's policy, saved or default, in role order (one query)."""
    saved = {p.role: p for p in AllowancePolicy.objects.all()}
    return [saved.get(role) or role_policy(role) for role in ROLE_ORDER]


@dataclass(frozen=True)
class Allowance:
    """What one person may grant now without asking.

    `per_case_limit` is the effective limit (lifted by the customer's segment
    tier when one applies: `lifted_by` names the segment); `base_per_case_limit`
    is the person's own. `spent_this_period` counts their ledger rows in the
    current period, pre-approved playbook money excluded.
    """

    per_case_limit: Decimal
    base_per_case_limit: Decimal
    period: str
    period_start: dt.date
    period_end: dt.date
    period_budget: Decimal
    spent_this_period: Decimal
    remaining: Decimal
    currency: str
    lifted_by: str | None
    overridden: bool


def _limits(user: Any) -> tuple[Decimal, Decimal, str, bool]:
    policy = role_policy(user.role)
    override = AllowanceOverride.objects.filter(user_id=user.pk).first()
    per_case, budget, period = policy.per_case_limit, policy.period_budget, policy.period
    if override is None:
        return per_case, budget, period, False
    return (
        override.per_case_limit if override.per_case_limit is not None else per_case,
        override.period_budget if override.period_budget is not None else budget,
        override.period or period,
        True,
    )


def spent_in_period(*, user: User, start: dt.date) -> Decimal:
    """The person's spend counted against their allowance since `start`.

    Rows carry the start of the period they count in; summing from the current
    start means a change of period length starts the new period afresh.
    """
    total = (
        LedgerEntry.objects.filter(
            person_id=user.pk, period_start__gte=start, pre_approved=False, grant__case__drill=None
        )
        .aggregate(total=Sum("amount"))
        .get("total")
    )
    return cents(total)


def segment_lift(customer: Customer | None) -> tuple[Decimal | None, str | None, list[str]]:
    """(per-case lift, segment name, segment slugs) from the customer's approach.

    Segments live in their own app; without it (or on an older one) nobody is lifted.
    """
    if customer is None:
        return None, None, []
    try:
        from bounceback.segments.selectors import approach_from_segments, customer_segments

        segments = customer_segments(customer)
        approach = approach_from_segments(segments)
        lift = approach.per_case_limit_lift
        slugs = list(approach.slugs)
    except (ImportError, AttributeError):
        return None, None, []
    if lift is None:
        return None, None, slugs
    # Name the segment whose tier it is (segments are in priority order).
    holder = next((s.name for s in segments if getattr(s, "compensation_tier", None) == lift), None)
    return Decimal(lift), holder or "segment tier", slugs


def allowance_for(
    *, user: User, customer: Customer | None = None, on: dt.date | None = None
) -> Allowance:
    """The effective allowance of `user` now, for `customer` if given (segment lift)."""
    per_case, budget, period, overridden = _limits(user)
    start = period_start(period, on)
    spent = spent_in_period(user=user, start=start)
    lift, lifted_by, _ = segment_lift(customer)
    effective = per_case
    if lift is not None and lift > per_case:
        effective = lift
    else:
        lifted_by = None
    return Allowance(
        per_case_limit=effective,
        base_per_case_limit=per_case,
        period=period,
        period_start=start,
        period_end=period_end(period, start),
        period_budget=budget,
        spent_this_period=spent,
        remaining=budget - spent,
        currency=settings.BOUNCEBACK_CURRENCY,
        lifted_by=lifted_by,
        overridden=overridden,
    )


def role_per_case_limit(role: str) -> Decimal:
    return role_policy(role).per_case_limit


# --- Grants -------------------------------------------------------------------------------


def grant_list(
    *,
    case_id: int | None = None,
    customer_id: int | None = None,
    granted_by_id: int | None = None,
    state: str | None = None,
    kind: str | None = None,
    exceptions_only: bool = False,
) -> QuerySet[Grant]:
    rows = Grant.objects.select_related("granted_by", "case", "customer", "voucher", "approval")
    if case_id is not None:
        rows = rows.filter(case_id=case_id)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    if granted_by_id is not None:
        rows = rows.filter(granted_by_id=granted_by_id)
    if state:
        rows = rows.filter(state=state)
    if kind:
        rows = rows.filter(kind=kind)
    if exceptions_only:
        rows = rows.exceptions()
    return rows


def case_grants(*, case: Case) -> list[Grant]:
    """A case's grants, newest first, with voucher and approval (one query)."""
    return list(
        Grant.objects.filter(case_id=case.pk)
        .select_related("granted_by", "voucher", "approval", "approval__approver")
        .order_by("-created_at", "-id")
    )


def exceptions_to_policy(*, user: User) -> QuerySet[Grant]:
    """Every grant flagged as bending a rule: senior management only."""
    if user is None or not user.has_perm("funds.view_exceptions"):
        raise Forbidden("only senior management sees every exception to policy")
    return grant_list(exceptions_only=True)


# --- Approvals ----------------------------------------------------------------------------


def approval_queue(*, user: User) -> QuerySet[ApprovalRequest]:
    """Pending requests this person may decide: at their level or below, not their own.

    Soonest due first; `due_at` is the request's timer.
    """
    if user is None or not user.has_perm("funds.decide_approvalrequest"):
        return ApprovalRequest.objects.none()
    rank = role_rank(user.role)
    levels = [r for r in ROLE_ORDER if role_rank(r) <= rank]
    return (
        ApprovalRequest.objects.filter(state=ApprovalRequest.State.PENDING, level__in=levels)
        .exclude(requested_by_id=user.pk)
        .select_related("grant", "grant__case", "grant__customer", "requested_by")
        .order_by("due_at", "id")
    )


# --- Balances and reports -----------------------------------------------------------------


BALANCE_GROUPS = {"person": "person", "team": "team", "site": "site"}


@dataclass(frozen=True)
class Balance:
    key: int | None
    label: str
    spent: Decimal
    pre_approved: Decimal
    budget: Decimal | None
    remaining: Decimal | None
    currency: str


def parse_period(period: str | None) -> tuple[str, dt.date]:
    """`week`, `month` (default), `quarter`, or a date inside the wanted month (YYYY-MM-DD)."""
    raw = (period or Period.MONTH).strip()
    if raw in Period.values:
        return raw, period_start(raw)
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            "period must be week, month, quarter or a date (YYYY-MM-DD)", field="period"
        ) from None
    return Period.MONTH, period_start(Period.MONTH, day)


def balances(*, by: str = "person", period: str | None = None) -> list[Balance]:
    """Spend per person, team or site in one period (two or three queries).

    A person's budget is their own; a team's is the sum of its members'; a site
    has no budget of its own. Spend counts ledger rows from the period's start
    to its end; pre-approved playbook money is shown apart.
    """
    if by not in BALANCE_GROUPS:
        raise ValidationFailed("by must be person, team or site", field="by")
    kind, start = parse_period(period)
    end = period_end(kind, start)
    field = BALANCE_GROUPS[by]
    rows = (
        LedgerEntry.objects.filter(period_start__gte=start, period_start__lt=end)
        .real()
        .values(f"{field}_id")
        .annotate(
            spent=Sum("amount", filter=Q(pre_approved=False), default=ZERO),
            pre=Sum("amount", filter=Q(pre_approved=True), default=ZERO),
        )
        .order_by(f"{field}_id")
    )
    totals = {r[f"{field}_id"]: (cents(r["spent"]), cents(r["pre"])) for r in rows}
    currency = settings.BOUNCEBACK_CURRENCY
    if by == "site":
        from bounceback.sites.models import Site

        names = dict(Site.objects.filter(pk__in=[k for k in totals if k]).values_list("id", "name"))
        return [
            Balance(
                key, names.get(key, "No site") if key else "No site", s, p, None, None, currency
            )
            for key, (s, p) in totals.items()
        ]
    users = list(User.objects.filter(is_active=True).select_related("team").order_by("username"))
    policies = {p.role: p for p in allowance_policies()}
    overrides = {o.user_id: o for o in AllowanceOverride.objects.all()}

    def budget_of(user: User) -> Decimal:
        override = overrides.get(user.pk)
        if override is not None and override.period_budget is not None:
            return override.period_budget
        return policies[user.role].period_budget

    if by == "person":
        seen = {u.pk for u in users}
        result = []
        for user in users:
            spent, pre = totals.get(user.pk, (ZERO, ZERO))
            budget = budget_of(user)
            result.append(
                Balance(user.pk, user.display_name, spent, pre, budget, budget - spent, currency)
            )
        for key, (spent, pre) in totals.items():
            if key not in seen:  # someone who has left: their spend still shows
                result.append(Balance(key, f"user {key}", spent, pre, None, None, currency))
        return result
    teams: dict[int | None, tuple[str, Decimal]] = {}
    for user in users:
        label, budget = teams.get(user.team_id, (user.team.name if user.team else "No team", ZERO))
        teams[user.team_id] = (label, budget + budget_of(user))
    result = []
    for key in {*teams, *totals}:
        label, budget = teams.get(key, ("No team" if key is None else f"team {key}", ZERO))
        spent, pre = totals.get(key, (ZERO, ZERO))
        result.append(Balance(key, label, spent, pre, budget, budget - spent, currency))
    return sorted(result, key=lambda b: b.label)


@dataclass(frozen=True)
class FailureModeSpend:
    failure_mode_id: int | None
    title: str
    spent: Decimal
    grants: int
    currency: str


def spend_by_failure_mode(*, period: str | None = None) -> list[FailureModeSpend]:
    """Net spend (pre-approved included) per failure mode in one period, most first."""
    kind, start = parse_period(period)
    end = period_end(kind, start)
    rows = (
        LedgerEntry.objects.filter(period_start__gte=start, period_start__lt=end)
        .real()
        .values("failure_mode_id", "failure_mode__title")
        .annotate(spent=Sum("amount", default=ZERO))
        .order_by()
    )
    counts = dict(
        LedgerEntry.objects.filter(period_start__gte=start, period_start__lt=end, amount__gt=0)
        .real()
        .values("failure_mode_id")
        .annotate(n=Count("grant_id", distinct=True))
        .values_list("failure_mode_id", "n")
    )
    result = [
        FailureModeSpend(
            r["failure_mode_id"],
            r["failure_mode__title"] or "No failure mode",
            cents(r["spent"]),
            int(counts.get(r["failure_mode_id"], 0)),
            settings.BOUNCEBACK_CURRENCY,
        )
        for r in rows
    ]
    return sorted(result, key=lambda s: (-s.spent, s.title))


def ledger_list(
    *, person_id: int | None = None, grant_id: int | None = None
) -> QuerySet[LedgerEntry]:
    rows = LedgerEntry.objects.select_related("person", "actor", "grant")
    if person_id is not None:
        rows = rows.filter(person_id=person_id)
    if grant_id is not None:
        rows = rows.filter(grant_id=grant_id)
    return rows
