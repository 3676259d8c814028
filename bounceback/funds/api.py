"""The recovery-funds API: grants, approvals, allowances, balances, reports and vouchers.

Grants and decisions count against a person: a session acts as its user, a
token as the staff member who created it (a token nobody owns may only read
and redeem vouchers).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.actors import Actor
from bounceback.api.auth import require_scope
from bounceback.api.endpoints import act
from bounceback.api.pagination import page_answer
from bounceback.api.schemas import ERRORS, PageFilters, Schema
from bounceback.cases.models import Case
from bounceback.errors import Forbidden, NotFound
from bounceback.funds import selectors, services
from bounceback.funds.models import AllowancePolicy, ApprovalRequest, Grant, Voucher

router = Router(tags=["funds"])


# --- Schemas -----------------------------------------------------------------------------


class GrantIn(Schema):
    kind: str = Field(..., description="refund, credit, voucher, upgrade, gift, waived_fee, other")
    value: Decimal
    currency: str | None = None
    reason: str
    estimated: bool = False
    customer_proposed: bool = False
    message: str = Field(
        "", description="Sent to the customer once it takes effect; {{ value }}, {{ voucher }}"
    )
    exception_to_policy: bool = False
    policy_bent: str = ""
    voucher_days: int | None = None


class VoucherOut(Schema):
    code: str
    value: Decimal
    currency: str
    expires_at: dt.datetime
    redeemed_at: dt.datetime | None
    redeemed_by: str
    redeemed_reference: str
    voided_at: dt.datetime | None
    status: str

    @staticmethod
    def resolve_status(obj: Voucher) -> str:
        if obj.redeemed_at:
            return "redeemed"
        if obj.voided_at:
            return "void"
        return "expired" if obj.expires_at <= _now() else "valid"


class ApprovalOut(Schema):
    id: int
    grant_id: int
    case_id: int
    customer_id: int
    requested_by_id: int
    level: str
    state: str
    asked_value: Decimal
    currency: str
    why: str
    reason: str
    approver_id: int | None
    decided_value: Decimal | None
    decision_reason: str
    created_at: dt.datetime
    due_at: dt.datetime | None
    escalated_at: dt.datetime | None
    decided_at: dt.datetime | None

    @staticmethod
    def resolve_case_id(obj: ApprovalRequest) -> int:
        return obj.grant.case_id

    @staticmethod
    def resolve_customer_id(obj: ApprovalRequest) -> int:
        return obj.grant.customer_id

    @staticmethod
    def resolve_currency(obj: ApprovalRequest) -> str:
        return obj.grant.currency

    @staticmethod
    def resolve_reason(obj: ApprovalRequest) -> str:
        return obj.grant.reason


class GrantOut(Schema):
    id: int
    case_id: int
    customer_id: int
    granted_by_id: int
    kind: str
    value: Decimal
    currency: str
    estimated: bool
    reason: str
    customer_proposed: bool
    message: str
    state: str
    exception_to_policy: bool
    policy_bent: str
    pre_approved: bool
    failure_mode_id: int | None
    site_id: int | None
    team_id: int | None
    created_at: dt.datetime
    decided_at: dt.datetime | None
    reversed_at: dt.datetime | None
    reversal_reason: str
    voucher: VoucherOut | None
    approval: ApprovalOut | None

    @staticmethod
    def resolve_voucher(obj: Grant) -> Voucher | None:
        return getattr(obj, "voucher", None) if _has(obj, "voucher") else None

    @staticmethod
    def resolve_approval(obj: Grant) -> ApprovalRequest | None:
        return getattr(obj, "approval", None) if _has(obj, "approval") else None


class GrantPage(Schema):
    items: list[GrantOut]
    next_cursor: str | None


class GrantFilters(Schema):
    case_id: int | None = None
    customer_id: int | None = None
    granted_by_id: int | None = None
    state: str | None = None
    kind: str | None = None
    exceptions: bool = Field(False, description="Only exceptions to policy (funds.view_exceptions)")
    cursor: str | None = None
    limit: int = 50


class ApprovalPage(Schema):
    items: list[ApprovalOut]
    next_cursor: str | None


class ApprovalDecisionIn(Schema):
    decision: str = Field(..., description="approve, reduce or refuse")
    value: Decimal | None = Field(None, description="The reduced value (reduce only)")
    reason: str = ""
    message: str | None = Field(None, description="Replaces the message to the customer")


class FundsReasonIn(Schema):
    reason: str


class AllowanceOut(Schema):
    user_id: int
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


class PolicyIn(Schema):
    per_case_limit: Decimal
    period: str
    period_budget: Decimal


class PolicyOut(Schema):
    role: str
    per_case_limit: Decimal
    period: str
    period_budget: Decimal
    currency: str
    default: bool

    @staticmethod
    def resolve_default(obj: AllowancePolicy) -> bool:
        return obj.pk is None


class OverrideIn(Schema):
    per_case_limit: Decimal | None = None
    period_budget: Decimal | None = None
    period: str | None = None


class OverrideOut(Schema):
    user_id: int
    per_case_limit: Decimal | None
    period_budget: Decimal | None
    period: str
    removed: bool


class BalanceOut(Schema):
    key: int | None
    label: str
    spent: Decimal
    pre_approved: Decimal
    budget: Decimal | None
    remaining: Decimal | None
    currency: str


class BalancesOut(Schema):
    by: str
    period: str
    period_start: dt.date
    items: list[BalanceOut]


class FailureModeSpendOut(Schema):
    failure_mode_id: int | None
    title: str
    spent: Decimal
    grants: int
    currency: str


class RedeemIn(Schema):
    by: str = Field(..., description="The till or system redeeming it")
    reference: str = ""


# --- Helpers ------------------------------------------------------------------------------


def _now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


def _has(obj: Grant, relation: str) -> bool:
    try:
        getattr(obj, relation)
    except Exception:  # the reverse one-to-one is absent
        return False
    return True


def _person(actor: Actor) -> User:
    """The staff member the call counts against: the signed-in person, or the token's
    creator (while still active)."""
    if actor.user is not None:
        return actor.user
    raise Forbidden(
        "this counts against a person's allowance: use a token created by a staff member",
        code="no_person",
    )


def _grants() -> QuerySet[Grant]:
    return Grant.objects.select_related("voucher", "approval", "approval__grant")


def _grant(grant_id: int) -> Grant:
    grant = _grants().filter(pk=grant_id).first()
    if grant is None:
        raise NotFound(f"no grant with id {grant_id}")
    return grant


def _request(request_id: int) -> ApprovalRequest:
    row = ApprovalRequest.objects.select_related("grant").filter(pk=request_id).first()
    if row is None:
        raise NotFound(f"no approval request with id {request_id}")
    return row


# --- Grants -------------------------------------------------------------------------------


@router.post(
    "/cases/{case_id}/grants",
    response={201: GrantOut, 202: GrantOut, **ERRORS},
    summary="Grant a gesture on a case: 201 in effect, 202 waiting for approval",
)
def create_grant(request: HttpRequest, case_id: int, payload: GrantIn) -> Status[Grant]:
    actor = act(request, "funds:write")
    case = Case.objects.select_related("customer").filter(pk=case_id).first()
    if case is None:
        raise NotFound(f"no case with id {case_id}", field="case_id")
    grant = services.grant_create(
        case=case,
        actor=_person(actor),
        kind=payload.kind,
        value=payload.value,
        currency=payload.currency,
        reason=payload.reason,
        estimated=payload.estimated,
        customer_proposed=payload.customer_proposed,
        message=payload.message,
        exception_to_policy=payload.exception_to_policy,
        policy_bent=payload.policy_bent,
        voucher_days=payload.voucher_days,
    )
    return Status(202 if grant.state == Grant.State.PENDING else 201, _grant(grant.pk))


@router.get("/grants", response={200: GrantPage, **ERRORS}, summary="List grants, newest first")
def list_grants(request: HttpRequest, filters: Query[GrantFilters]) -> dict[str, Any]:
    actor = act(request, "funds:read")
    if filters.exceptions:
        rows = selectors.exceptions_to_policy(user=_person(actor))
    else:
        rows = selectors.grant_list(
            case_id=filters.case_id,
            customer_id=filters.customer_id,
            granted_by_id=filters.granted_by_id,
            state=filters.state,
            kind=filters.kind,
        )
    rows = rows.select_related("voucher", "approval", "approval__grant")
    return page_answer(rows, filters, order_field="created_at", descending=True)


@router.get("/grants/{grant_id}", response={200: GrantOut, **ERRORS}, summary="Read a grant")
def get_grant(request: HttpRequest, grant_id: int) -> Grant:
    require_scope(request, "funds:read")
    return _grant(grant_id)


@router.post(
    "/grants/{grant_id}/reverse",
    response={200: GrantOut, **ERRORS},
    summary="Reverse a grant in effect (funds.reverse_grant)",
)
def reverse_grant(request: HttpRequest, grant_id: int, payload: FundsReasonIn) -> Grant:
    actor = act(request, "funds:write")
    grant = services.grant_reverse(
        grant=_grant(grant_id), actor=_person(actor), reason=payload.reason
    )
    return _grant(grant.pk)


# --- Approvals ----------------------------------------------------------------------------


@router.get(
    "/approvals",
    response={200: ApprovalPage, **ERRORS},
    summary="Pending approvals the caller may decide, soonest due first",
)
def list_approvals(request: HttpRequest, filters: Query[PageFilters]) -> dict[str, Any]:
    actor = act(request, "funds:read")
    rows = selectors.approval_queue(user=_person(actor))
    return page_answer(rows, filters, order_field="due_at", descending=False)


@router.post(
    "/approvals/{request_id}/decide",
    response={200: ApprovalOut, **ERRORS},
    summary="Approve, reduce or refuse a pending grant (funds.decide_approvalrequest)",
)
def decide(request: HttpRequest, request_id: int, payload: ApprovalDecisionIn) -> ApprovalRequest:
    actor = act(request, "funds:write")
    decided = services.approval_decide(
        request=_request(request_id),
        actor=_person(actor),
        decision=payload.decision,
        value=payload.value,
        reason=payload.reason,
        message=payload.message,
    )
    return _request(decided.pk)


@router.post(
    "/approvals/{request_id}/escalate",
    response={200: ApprovalOut, **ERRORS},
    summary="Send a pending request up one level",
)
def escalate(request: HttpRequest, request_id: int, payload: FundsReasonIn) -> ApprovalRequest:
    actor = act(request, "funds:write")
    moved = services.approval_escalate(
        request=_request(request_id), actor=_person(actor), reason=payload.reason
    )
    return _request(moved.pk)


# --- Allowances ---------------------------------------------------------------------------


@router.get(
    "/allowance",
    response={200: AllowanceOut, **ERRORS},
    summary="The caller's allowance now; with case_id, the effective limits for its customer",
)
def my_allowance(request: HttpRequest, case_id: int | None = None) -> dict[str, Any]:
    actor = act(request, "funds:read")
    person = _person(actor)
    customer = None
    if case_id is not None:
        case = Case.objects.select_related("customer").filter(pk=case_id).first()
        if case is None:
            raise NotFound(f"no case with id {case_id}", field="case_id")
        customer = case.customer
    allowance = selectors.allowance_for(user=person, customer=customer)
    return {"user_id": person.pk, **allowance.__dict__}


def _check_policy_read(request: HttpRequest) -> None:
    if not act(request, "funds:read").may("funds.view_allowancepolicy"):
        raise Forbidden("only managers see allowance policies")


@router.get(
    "/policies", response={200: list[PolicyOut], **ERRORS}, summary="Every role's allowance"
)
def list_policies(request: HttpRequest) -> list[AllowancePolicy]:
    _check_policy_read(request)
    return selectors.allowance_policies()


@router.get("/policies/{role}", response={200: PolicyOut, **ERRORS}, summary="One role's allowance")
def get_policy(request: HttpRequest, role: str) -> AllowancePolicy:
    _check_policy_read(request)
    if role not in Role.values:
        raise NotFound(f"no role {role!r}", field="role")
    return selectors.role_policy(role)


@router.put(
    "/policies/{role}",
    response={200: PolicyOut, **ERRORS},
    summary="Set a role's allowance (funds.change_allowancepolicy)",
)
def set_policy(request: HttpRequest, role: str, payload: PolicyIn) -> AllowancePolicy:
    actor = act(request, "funds:write")
    return services.allowance_policy_set(
        role=role,
        actor=_person(actor),
        per_case_limit=payload.per_case_limit,
        period=payload.period,
        period_budget=payload.period_budget,
    )


@router.put(
    "/overrides/{user_id}",
    response={200: OverrideOut, **ERRORS},
    summary="Give one person their own figures; all null removes it",
)
def set_override(request: HttpRequest, user_id: int, payload: OverrideIn) -> dict[str, Any]:
    actor = act(request, "funds:write")
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"no user with id {user_id}", field="user_id")
    override = services.allowance_override_set(
        user=user,
        actor=_person(actor),
        per_case_limit=payload.per_case_limit,
        period_budget=payload.period_budget,
        period=payload.period,
    )
    return {
        "user_id": user.pk,
        "per_case_limit": override.per_case_limit if override else None,
        "period_budget": override.period_budget if override else None,
        "period": override.period if override else "",
        "removed": override is None,
    }


# --- Balances and reports -----------------------------------------------------------------


def _check_ledger_read(request: HttpRequest) -> None:
    if not act(request, "funds:read").may("funds.view_ledgerentry"):
        raise Forbidden("only approvers see balances and the ledger")


@router.get(
    "/balances",
    response={200: BalancesOut, **ERRORS},
    summary="Spend, budget and remaining per person, team or site for a period",
)
def get_balances(
    request: HttpRequest, by: str = "person", period: str | None = None
) -> dict[str, Any]:
    _check_ledger_read(request)
    kind, start = selectors.parse_period(period)
    rows = selectors.balances(by=by, period=period)
    return {"by": by, "period": kind, "period_start": start, "items": [r.__dict__ for r in rows]}


@router.get(
    "/spend-by-failure-mode",
    response={200: list[FailureModeSpendOut], **ERRORS},
    summary="Net spend per failure mode for a period, most first",
)
def spend_by_failure_mode(request: HttpRequest, period: str | None = None) -> list[Any]:
    _check_ledger_read(request)
    return [r.__dict__ for r in selectors.spend_by_failure_mode(period=period)]


# --- Vouchers -----------------------------------------------------------------------------


@router.get("/vouchers/{code}", response={200: VoucherOut, **ERRORS}, summary="Check a voucher")
def get_voucher(request: HttpRequest, code: str) -> Voucher:
    require_scope(request, "vouchers:redeem")
    return services.voucher_find(code=code)


@router.post(
    "/vouchers/{code}/redeem",
    response={200: VoucherOut, **ERRORS},
    summary="Redeem a voucher once (404 unknown; 409 used, expired or withdrawn)",
)
def redeem_voucher(request: HttpRequest, code: str, payload: RedeemIn) -> Voucher:
    require_scope(request, "vouchers:redeem")
    return services.voucher_redeem(code=code, by=payload.by, reference=payload.reference)
