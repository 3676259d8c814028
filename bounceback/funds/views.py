"""The recovery-fund pages: granting on a case, the approval queue, balances and settings.

Every form posts to its own view, which calls one service in funds/services.py.
A refusal about a value (ValidationFailed) comes back on its field; one about
the state of things (Conflict, Forbidden) as a banner with the service's reason.
Agents reach the funds only through the case page; the other pages are for the
people who approve, watch and set the money.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.cases.views import case_for_page, case_url, render_case_page
from bounceback.funds import services, ui_selectors
from bounceback.funds.forms import (
    DecisionForm,
    GrantForm,
    LedgerFilterForm,
    OverrideForm,
    PolicyForm,
    ReasonForm,
)
from bounceback.funds.models import ApprovalRequest, Grant, LedgerEntry
from bounceback.web.actions import perform
from bounceback.web.forms import add_refusal

GRANT = "funds.add_grant"
VIEW_GRANT = "funds.view_grant"
DECIDE = "funds.decide_approvalrequest"
VIEW_APPROVALS = "funds.view_approvalrequest"
VIEW_LEDGER = "funds.view_ledgerentry"
VIEW_POLICY = "funds.view_allowancepolicy"
CHANGE_POLICY = "funds.change_allowancepolicy"
REVERSE = "funds.reverse_grant"
VIEW_EXCEPTIONS = "funds.view_exceptions"

LEDGER_PAGE = 50
# The case page re-renders with the refused grant form: the panel's tag finds it here.
BOUND_GRANT_FORM = "_funds_grant_form"
# The case page holds other forms with the same field names (a reason, a value).
GRANT_IDS = "funds_%s"
# A value the service rejected shows on its field; any other refusal over the form.
_refuse = partial(add_refusal, sentence=True)


# --- Granting on a case -------------------------------------------------------------------


@require_POST
@permission_required(GRANT, raise_exception=True)
def grant_create(request: HttpRequest, case_pk: int) -> HttpResponse:
    """Grant a gesture: at once within the allowance, else an approval request goes up."""
    case = case_for_page(case_pk)
    form = GrantForm(request.POST, auto_id=GRANT_IDS)

    def page() -> HttpResponse:
        setattr(request, BOUND_GRANT_FORM, form)
        return render_case_page(request, case)

    return perform(
        request,
        lambda data: services.grant_create(
            case=case,
            actor=request.user,
            kind=data["kind"],
            value=data["value"],
            reason=data["reason"],
            estimated=data["estimated"],
            customer_proposed=data["customer_proposed"],
            message=data["message"],
            exception_to_policy=data["exception_to_policy"],
            policy_bent=data["policy_bent"],
        ),
        form=form,
        refuse=_refuse,
        page=page,
        success=ui_selectors.grant_outcome,
        redirect_to=case_url(case, "funds"),
    )


# --- A grant -----------------------------------------------------------------------------------


@require_GET
@permission_required(VIEW_GRANT, raise_exception=True)
def grant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    grant = get_object_or_404(ui_selectors.grants_with_people(), pk=pk)
    return _render_grant(request, grant)


def _render_grant(
    request: HttpRequest, grant: Grant, *, reverse_form: ReasonForm | None = None
) -> HttpResponse:
    context = {
        "grant": grant,
        "voucher": ui_selectors.voucher_of(grant),
        "approval": ui_selectors.approval_of(grant),
        "entries": ui_selectors.ledger_for_grant(grant),
        "can_reverse": request.user.has_perm(REVERSE) and grant.state == Grant.State.GRANTED,
        "reverse_form": reverse_form or ReasonForm(),
        "now": timezone.now(),
    }
    return render(request, "funds/grant.html", context)


@require_POST
@permission_required(REVERSE, raise_exception=True)
def grant_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    grant = get_object_or_404(ui_selectors.grants_with_people(), pk=pk)
    form = ReasonForm(request.POST)
    return perform(
        request,
        lambda data: services.grant_reverse(grant=grant, actor=request.user, reason=data["reason"]),
        form=form,
        refuse=_refuse,
        page=lambda: _render_grant(request, grant, reverse_form=form),
        success="Grant reversed; the ledger gives the money back.",
        redirect_to=reverse("funds:grant", args=[grant.pk]),
    )


# --- The approval queue ------------------------------------------------------------------------


@require_GET
@permission_required(VIEW_APPROVALS, raise_exception=True)
def approval_queue(request: HttpRequest) -> HttpResponse:
    return _render_queue(request)


def _render_queue(
    request: HttpRequest, *, failed: int | None = None, bound: dict[str, forms.Form] | None = None
) -> HttpResponse:
    now = timezone.now()
    rows = ui_selectors.approval_queue(user=request.user)
    for row in rows:
        mine = failed == row.request.pk and bound
        row.decision_form = (bound or {}).get("decide") if mine else None  # type: ignore[attr-defined]
        row.escalate_form = (bound or {}).get("escalate") if mine else None  # type: ignore[attr-defined]
    context = {
        "rows": rows,
        "now": now,
        "can_decide": request.user.has_perm(DECIDE),
        "failed": failed,
    }
    return render(request, "funds/approvals.html", context)


def _pending(pk: int) -> ApprovalRequest:
    return get_object_or_404(ApprovalRequest.objects.select_related("grant__case"), pk=pk)


@require_POST
@permission_required(DECIDE, raise_exception=True)
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    approval = _pending(pk)
    form = DecisionForm(request.POST)
    return perform(
        request,
        lambda data: services.approval_decide(
            request=approval,
            actor=request.user,
            decision=data["decision"],
            value=data["value"] if data["decision"] == "reduce" else None,
            reason=data["reason"],
        ),
        form=form,
        refuse=_refuse,
        page=lambda: _render_queue(request, failed=approval.pk, bound={"decide": form}),
        success=ui_selectors.decision_outcome,
        redirect_to="funds:approvals",
    )


@require_POST
@permission_required(DECIDE, raise_exception=True)
def approval_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    approval = _pending(pk)
    form = ReasonForm(request.POST, prefix="up")

    def passed_up(passed: ApprovalRequest) -> str:
        level = Role(passed.level).label if passed.level in Role.values else passed.level
        return f"Passed up: it now waits on a {level.lower()}."

    return perform(
        request,
        lambda data: services.approval_escalate(
            request=approval, actor=request.user, reason=data["reason"]
        ),
        form=form,
        refuse=_refuse,
        page=lambda: _render_queue(request, failed=approval.pk, bound={"escalate": form}),
        success=passed_up,
        redirect_to="funds:approvals",
    )


# --- Balances, spend, the ledger, exceptions --------------------------------------------------


@require_GET
@permission_required(VIEW_LEDGER, raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    kinds = list(LedgerEntry.Kind.choices)
    filters = LedgerFilterForm(request.GET or None, kinds=kinds)
    person: User | None = None
    kind = ""
    if filters.is_valid():
        person = filters.cleaned_data["person"]
        kind = filters.cleaned_data["kind"] or ""
    ledger = ui_selectors.ledger(person=person, kind=kind)
    page = Paginator(ledger, LEDGER_PAGE).get_page(request.GET.get("page"))
    show_exceptions = request.user.has_perm(VIEW_EXCEPTIONS)
    context = {
        "balances": ui_selectors.balances(),
        "spend": ui_selectors.spend_by_failure_mode(),
        "page_obj": page,
        "entries": list(page.object_list),
        "filters": filters,
        "exceptions": ui_selectors.exceptions(user=request.user) if show_exceptions else None,
        "now": now,
    }
    return render(request, "funds/overview.html", context)


# --- Settings ---------------------------------------------------------------------------------


@permission_required(VIEW_POLICY, raise_exception=True)
def fund_settings(request: HttpRequest) -> HttpResponse:
    return _render_settings(request)


def _render_settings(
    request: HttpRequest,
    *,
    failed_role: str = "",
    policy_form: PolicyForm | None = None,
    override_form: OverrideForm | None = None,
) -> HttpResponse:
    can_change = request.user.has_perm(CHANGE_POLICY)
    rows = ui_selectors.policies()
    for row in rows:
        if row.role == failed_role and policy_form is not None:
            row.form = policy_form
        else:
            row.form = PolicyForm(
                prefix=row.role,
                initial={
                    "per_case_limit": row.per_case_limit,
                    "period": row.period,
                    "period_budget": row.period_budget,
                },
            )
    context = {
        "rows": rows,
        "overrides": ui_selectors.overrides(),
        "override_form": override_form or OverrideForm(prefix="override"),
        "can_change": can_change,
        "currency": settings.BOUNCEBACK_CURRENCY,
    }
    return render(request, "funds/settings.html", context)


@require_POST
@permission_required(CHANGE_POLICY, raise_exception=True)
def policy_set(request: HttpRequest, role: str) -> HttpResponse:
    if role not in Role.values:
        raise PermissionDenied("No such role.")
    form = PolicyForm(request.POST, prefix=role)
    return perform(
        request,
        lambda data: services.allowance_policy_set(
            role=role,
            actor=request.user,
            per_case_limit=data["per_case_limit"],
            period=data["period"],
            period_budget=data["period_budget"],
        ),
        form=form,
        refuse=_refuse,
        page=lambda: _render_settings(request, failed_role=role, policy_form=form),
        success=f"Allowance for {Role(role).label.lower()}s saved.",
        redirect_to="funds:settings",
    )


@require_POST
@permission_required(CHANGE_POLICY, raise_exception=True)
def override_set(request: HttpRequest) -> HttpResponse:
    form = OverrideForm(request.POST, prefix="override")
    return perform(
        request,
        lambda data: services.allowance_override_set(
            user=data["user"],
            actor=request.user,
            per_case_limit=data["per_case_limit"],
            period=data["period"] or None,
            period_budget=data["period_budget"],
        ),
        form=form,
        refuse=_refuse,
        page=lambda: _render_settings(request, override_form=form),
        success=lambda _: f"Allowance for {form.cleaned_data['user'].display_name} saved.",
        redirect_to="funds:settings",
    )


def panel_context(request: Any, case: Case) -> dict[str, Any]:
    """What the case page's "Make it right" panel shows (used by the funds_ui tag)."""
    user = request.user
    can_grant = user.has_perm(GRANT)
    form = getattr(request, BOUND_GRANT_FORM, None)
    return {
        "case": case,
        "allowance": ui_selectors.allowance(user=user, customer=case.customer)
        if can_grant
        else None,
        "grants": ui_selectors.case_grants(case=case),
        "can_grant": can_grant,
        "grant_form": form or GrantForm(auto_id=GRANT_IDS),
        "grant_open": form is not None,
    }
