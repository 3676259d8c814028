"""Reads shaped for the fund pages, over funds/selectors.py (reads only).

The money figures (allowances, balances, spend) come from funds/selectors.py
so the pages and the API never disagree; this module adds what only a page
needs: the customer's history beside each approval, the flash texts, the
rows of the settings table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.funds import selectors
from bounceback.funds.models import (
    AllowanceOverride,
    ApprovalRequest,
    Grant,
    LedgerEntry,
    Voucher,
)

ZERO = Decimal("0")


# --- The case panel --------------------------------------------------------------------------


def allowance(*, user: Any, customer: Any) -> Any:
    """The staff member's effective limits for this customer (funds' own selector)."""
    return selectors.allowance_for(user=user, customer=customer)


def case_grants(*, case: Case) -> list[Grant]:
    return selectors.case_grants(case=case)


def grant_outcome(grant: Grant) -> str:
    """What the person who granted is told: done, or who answers and by when."""
    value = f"{grant.get_kind_display()} of {grant.value} {grant.currency}"
    if grant.state == Grant.State.GRANTED:
        return f"Granted: {value}." + (
            " Pre-approved by the playbook." if grant.pre_approved else ""
        )
    approval = ApprovalRequest.objects.filter(grant=grant).first()
    if approval is None:
        return f"{value}: {grant.get_state_display().lower()}."
    level = _level_label(approval.level)
    due = (
        f", answer due by {timezone.localtime(approval.due_at):%d %b, %H:%M}"
        if approval.due_at
        else ""
    )
    label = level.lower()
    article = "an" if label[:1] in "aeiou" else "a"
    why = approval.why or "it is above your allowance"
    return f"Sent for approval to {article} {label}{due}: {value} needs approval because {why}."


def decision_outcome(approval: ApprovalRequest) -> str:
    grant = approval.grant
    if approval.state == ApprovalRequest.State.APPROVED:
        return f"Approved: {grant.get_kind_display()} of {grant.value} {grant.currency}."
    if approval.state == ApprovalRequest.State.REDUCED:
        asked = f"{approval.asked_value} {grant.currency}"
        return f"Approved at {approval.decided_value} {grant.currency} instead of {asked}."
    return "Refused; the person who asked has been told why."


def _level_label(level: str) -> str:
    return str(Role(level).label) if level in Role.values else level


# --- A grant ---------------------------------------------------------------------------------


def grants_with_people() -> QuerySet[Grant]:
    return Grant.objects.select_related(
        "case", "customer", "granted_by", "reversed_by", "failure_mode", "site", "team"
    )


def voucher_of(grant: Grant) -> Voucher | None:
    return Voucher.objects.filter(grant=grant).first()


def approval_of(grant: Grant) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.filter(grant=grant)
        .select_related("requested_by", "approver")
        .first()
    )


def ledger_for_grant(grant: Grant) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(grant=grant)
        .select_related("person", "actor")
        .order_by("created_at", "id")
    )


# --- The approval queue ----------------------------------------------------------------------


@dataclass
class QueueRow:
    request: ApprovalRequest
    level_label: str
    due_at: datetime | None
    started_at: datetime | None
    case_count: int
    last_satisfied: bool | None
    extra: dict[str, Any] = field(default_factory=dict)


def approval_queue(*, user: Any) -> list[QueueRow]:
    """Pending requests the user may decide, soonest to escalate first, with the
    customer's history beside each (one query)."""
    cases = Case.objects.filter(customer=OuterRef("grant__customer")).order_by()
    rows = selectors.approval_queue(user=user).annotate(
        case_count=Subquery(cases.values("customer").annotate(n=Count("id")).values("n")[:1]),
        last_satisfied=Subquery(
            cases.filter(satisfied__isnull=False).order_by("-created_at").values("satisfied")[:1]
        ),
    )
    return [
        QueueRow(
            request=r,
            level_label=_level_label(r.level),
            due_at=r.due_at,
            started_at=r.escalated_at or r.created_at,
            case_count=r.case_count or 0,  # type: ignore[attr-defined]
            last_satisfied=r.last_satisfied,  # type: ignore[attr-defined]
        )
        for r in rows
    ]


def pending_count(*, user: Any) -> int:
    return selectors.approval_queue(user=user).count()


# --- Balances, spend, the ledger ---------------------------------------------------------------


@dataclass
class Balances:
    currency: str
    people: list[selectors.Balance]
    teams: list[selectors.Balance]
    sites: list[selectors.Balance]


def balances() -> Balances:
    """This month's spend per person, team and site (funds' selector, once per grouping)."""
    return Balances(
        currency=settings.BOUNCEBACK_CURRENCY,
        people=selectors.balances(by="person"),
        teams=selectors.balances(by="team"),
        sites=selectors.balances(by="site"),
    )


def spend_by_failure_mode() -> list[selectors.FailureModeSpend]:
    return selectors.spend_by_failure_mode()


def ledger(*, person: User | None = None, kind: str = "") -> QuerySet[LedgerEntry]:
    rows = (
        selectors.ledger_list(person_id=person.pk if person is not None else None)
        .select_related("grant__case")
        .order_by("-created_at", "-id")
    )
    if kind:
        rows = rows.filter(kind=kind)
    return rows


def exceptions(*, user: Any) -> list[Grant]:
    """Every grant flagged as an exception to policy (the selector refuses without the perm)."""
    return list(selectors.exceptions_to_policy(user=user).order_by("-created_at", "-id")[:200])


# --- Settings ---------------------------------------------------------------------------------


@dataclass
class PolicyRow:
    role: str
    label: str
    per_case_limit: Decimal
    period: str
    period_budget: Decimal
    written: bool
    form: Any = None


def policies() -> list[PolicyRow]:
    """Every role's allowance, the code's default where nobody has written one (one query)."""
    return [
        PolicyRow(
            role=str(p.role),
            label=_level_label(p.role),
            per_case_limit=p.per_case_limit,
            period=str(p.period),
            period_budget=p.period_budget,
            written=p.pk is not None,
        )
        for p in selectors.allowance_policies()
    ]


def overrides() -> list[AllowanceOverride]:
    return list(
        AllowanceOverride.objects.select_related("user").order_by(
            "user__first_name", "user__last_name"
        )
    )
