"""The breakdown pages: the list, declaring, the preview, the breakdown page and the review.

Every form posts to its own view, which calls one service. A refused
transition (Conflict) comes back on the page as a banner with the service's
reason; a rejected value (ValidationFailed) as an error on its field. Nothing
is sent to customers before a lead presses Confirm on the preview.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case as DbCase
from django.db.models import IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from bounceback.breakdowns import screens, selectors, services
from bounceback.breakdowns.forms import (
    ActionDoneForm,
    ActionItemForm,
    CustomerChoiceForm,
    DeclareForm,
    DocumentCasesForm,
    EmptyForm,
    FollowUpCasesForm,
    ItemDoneForm,
    MessageForm,
    ReasonForm,
    ReviewForm,
    ScopeForm,
    ToFailureModeForm,
    declarable_playbooks,
)
from bounceback.breakdowns.models import (
    Breakdown,
    BreakdownAction,
    BreakdownReview,
    ReviewActionItem,
)
from bounceback.cases.models import CaseBulkRun
from bounceback.cases.services import BulkOutcome
from bounceback.customers.models import Customer
from bounceback.playbooks.models import TemplatePurpose
from bounceback.playbooks.templating import PLACEHOLDERS
from bounceback.web.actions import perform
from bounceback.web.forms import add_banner, add_refusal, add_service_error
from bounceback.web.htmx import vary_on_htmx

VIEW = "breakdowns.view_breakdown"
DECLARE = "breakdowns.declare_breakdown"
WORK = "breakdowns.work_breakdown"

# Both composers sit on one page, so their fields are prefixed to keep ids apart.
COMPOSERS: dict[str, str] = {
    TemplatePurpose.STATUS_UPDATE: "update",
    TemplatePurpose.ALL_CLEAR: "all_clear",
}

LIST_PAGE = 50
CASES_PAGE = 25
SAMPLE = 20

ACTIVE = [Breakdown.Status.DECLARED, Breakdown.Status.RECOVERING]

# Service fields named the API's way ("transaction_filter.kind"), mapped to form fields.
_FIELD_MAP: dict[str, str | None] = {
    "transaction_filter.kind": "kinds",
    "transaction_filter.status": "statuses",
    "transaction_filter.attributes": "attributes",
    "transaction_filter": "attributes",
    "customer_ids": None,
}

# Declaring: every refusal on the field it names. Every other form: a rejected value on
# its field, a refused transition (a Conflict) over the form. Always as sentences.
_refuse_declare = partial(add_service_error, field_map=_FIELD_MAP, sentence=True)
_refuse = partial(add_refusal, field_map=_FIELD_MAP, sentence=True)


def _get(pk: int) -> Breakdown:
    return get_object_or_404(
        Breakdown.objects.select_related(
            "playbook_version__playbook__failure_mode",
            "site",
            "declared_by",
            "confirmed_by",
            "all_clear_by",
        ),
        pk=pk,
    )


def _url(name: str, breakdown: Breakdown, anchor: str = "") -> str:
    url = reverse(f"breakdowns:{name}", args=[breakdown.pk])
    return f"{url}#{anchor}" if anchor else url


def _playbook_url(playbook_id: int | None) -> str:
    """The playbook editor's page, when the playbooks app has one."""
    if playbook_id is None:
        return ""
    for name in ("playbooks:detail", "playbooks:edit"):
        try:
            return reverse(name, args=[playbook_id])
        except NoReverseMatch:
            continue
    return reverse("playbooks:list")


# --- The list -------------------------------------------------------------------------------


@require_GET
@permission_required(VIEW, raise_exception=True)
def breakdown_list(request: HttpRequest) -> HttpResponse:
    """Active breakdowns first (they need people now), then the past ones, newest first."""
    rows = selectors.breakdown_list().annotate(
        past=DbCase(
            When(status__in=ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    )
    rows = rows.order_by("past", "-declared_at", "-id")
    page = Paginator(rows, LIST_PAGE).get_page(request.GET.get("page"))
    breakdowns = list(page.object_list)
    progress = screens.list_progress(breakdowns)
    for breakdown in breakdowns:
        breakdown.progress = progress.get(breakdown.pk)  # type: ignore[attr-defined]
    active = [b for b in breakdowns if b.status in ACTIVE]
    past = [b for b in breakdowns if b.status not in ACTIVE]
    context = {"page_obj": page, "active": active, "past": past, "breakdowns": breakdowns}
    return render(request, "breakdowns/list.html", context)


# --- Declaring --------------------------------------------------------------------------------


@permission_required(DECLARE, raise_exception=True)
def breakdown_declare(request: HttpRequest) -> HttpResponse:
    """Declare: the playbook, the scope and the severity. Nothing is sent from here."""
    initial: dict[str, Any] = {}
    raw = request.GET.get("playbook", "")
    if raw.isdigit():
        chosen = declarable_playbooks().filter(pk=int(raw)).first()
        if chosen is not None:
            initial["playbook"] = chosen.pk
            initial["title"] = chosen.breakdown_type.capitalize() if chosen.breakdown_type else ""
    initial["window_start"] = timezone.localtime().strftime("%Y-%m-%dT%H:00")
    form = DeclareForm(request.POST if request.method == "POST" else None, initial=initial)

    def declared(breakdown: Breakdown) -> str:
        return (
            f"Breakdown {breakdown.reference} declared: {breakdown.affected_count} "
            f"customer{'s' if breakdown.affected_count != 1 else ''} affected. "
            "Check them before anything is sent."
        )

    return perform(
        request,
        lambda data: services.breakdown_declare(
            actor=request.user,
            playbook=data["playbook"],
            title=data["title"],
            severity=data["severity"],
            description=data["description"],
            **form.scope_kwargs(),
        ),
        form=form,
        refuse=_refuse_declare,
        page=lambda: render(request, "breakdowns/declare.html", {"form": form}),
        success=declared,
        redirect_to=lambda breakdown: _url("preview", breakdown),
    )


# --- The preview ------------------------------------------------------------------------------


def _render_preview(
    request: HttpRequest, breakdown: Breakdown, *, bound: Mapping[str, forms.Form] | None = None
) -> HttpResponse:
    bound = bound or {}
    preview = selectors.breakdown_preview(breakdown=breakdown, sample=SAMPLE)
    context = {
        "breakdown": breakdown,
        "preview": preview,
        "to_send": preview.to_contact,
        "excluded": screens.excluded(breakdown=breakdown),
        "cancel_form": bound.get("cancel") or ReasonForm(),
        "confirm_form": bound.get("confirm") or EmptyForm(),
        "refusal": [e for f in bound.values() for e in f.non_field_errors()],
        "can_declare": request.user.has_perm(DECLARE),
    }
    return render(request, "breakdowns/preview.html", context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def breakdown_preview(request: HttpRequest, pk: int) -> HttpResponse:
    breakdown = _get(pk)
    if breakdown.status != Breakdown.Status.DECLARED:
        messages.info(request, "Outreach for this breakdown has already been decided.")
        return redirect(_url("detail", breakdown))
    return _render_preview(request, breakdown)


@permission_required(DECLARE, raise_exception=True)
def breakdown_rescope(request: HttpRequest, pk: int) -> HttpResponse:
    """Change who is affected while nothing has been sent; the preview is found again."""
    breakdown = _get(pk)
    if request.method == "POST":
        form = ScopeForm(request.POST)
    else:
        form = ScopeForm(initial=ScopeForm.initial_for(breakdown))
    # The customers the breakdown names go along unchanged; the form sets the rest.
    named = (breakdown.transaction_filter or {}).get("customer_ids")

    def rescoped(breakdown: Breakdown) -> str:
        return (
            f"Scope changed: {breakdown.affected_count} "
            f"customer{'s' if breakdown.affected_count != 1 else ''} affected now."
        )

    return perform(
        request,
        lambda _: services.breakdown_rescope(
            breakdown=breakdown,
            actor=request.user,
            customer_ids=named or None,
            **form.scope_kwargs(),
        ),
        form=form,
        refuse=_refuse,
        page=lambda: render(
            request, "breakdowns/rescope.html", {"breakdown": breakdown, "form": form}
        ),
        success=rescoped,
        redirect_to=lambda breakdown: _url("preview", breakdown),
    )


def _refused_on_preview(
    request: HttpRequest, breakdown: Breakdown, key: str, form: forms.Form
) -> HttpResponse:
    """The preview again with the refused form; once the outreach is decided there is no
    preview, so the refusal is flashed on the breakdown page."""
    if breakdown.status != Breakdown.Status.DECLARED:
        for error in form.non_field_errors():
            messages.error(request, str(error))
        return redirect(_url("detail", breakdown))
    return _render_preview(request, breakdown, bound={key: form})


def _customer_action(request: HttpRequest, pk: int, *, include: bool) -> HttpResponse:
    breakdown = _get(pk)
    form = CustomerChoiceForm(request.POST)
    customer = None
    if not form.is_valid():
        form.add_error(None, "Choose a customer.")
    else:
        customer = Customer.objects.filter(pk=form.cleaned_data["customer"]).first()
        if customer is None:
            form.add_error(None, "That customer no longer exists.")
    if customer is None:
        return _refused_on_preview(request, breakdown, "customer", form)
    service = (
        services.breakdown_include_customer if include else services.breakdown_exclude_customer
    )
    verb = "back in" if include else "left out of"
    return perform(
        request,
        lambda _: service(breakdown=breakdown, actor=request.user, customer=customer),
        form=form,
        refuse=add_banner,
        page=lambda: _refused_on_preview(request, breakdown, "customer", form),
        success=f"{customer.name} is {verb} the outreach.",
        redirect_to=_url("preview", breakdown),
    )


@require_POST
@permission_required(DECLARE, raise_exception=True)
def breakdown_exclude(request: HttpRequest, pk: int) -> HttpResponse:
    return _customer_action(request, pk, include=False)


@require_POST
@permission_required(DECLARE, raise_exception=True)
def breakdown_include(request: HttpRequest, pk: int) -> HttpResponse:
    return _customer_action(request, pk, include=True)


@require_POST
@permission_required(DECLARE, raise_exception=True)
def breakdown_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    breakdown = _get(pk)
    form = EmptyForm(request.POST)
    return perform(
        request,
        lambda _: services.breakdown_confirm_outreach(breakdown=breakdown, actor=request.user),
        form=form,
        refuse=add_banner,
        page=lambda: _refused_on_preview(request, breakdown, "confirm", form),
        success="Outreach confirmed: the messages are on their way.",
        redirect_to=lambda confirmed: _url("detail", confirmed),
    )


@require_POST
@permission_required(DECLARE, raise_exception=True)
def breakdown_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    breakdown = _get(pk)
    form = ReasonForm(request.POST)
    return perform(
        request,
        lambda data: services.breakdown_cancel(
            breakdown=breakdown, actor=request.user, reason=data["reason"]
        ),
        form=form,
        refuse=_refuse,
        page=lambda: _refused_on_preview(request, breakdown, "cancel", form),
        success=lambda cancelled: f"Breakdown {cancelled.reference} cancelled: false alarm.",
        redirect_to=lambda cancelled: _url("detail", cancelled),
    )


# --- The breakdown page -------------------------------------------------------------------------


def _progress_context(breakdown: Breakdown) -> dict[str, Any]:
    progress = selectors.breakdown_progress(breakdown=breakdown)
    polling = (
        breakdown.status == Breakdown.Status.RECOVERING
        and not breakdown.outreach_paused
        and not progress.done
    )
    return {"breakdown": breakdown, "progress": progress, "polling": polling}


def _composer(
    breakdown: Breakdown, purpose: str, bound: forms.Form | None
) -> tuple[forms.Form, dict[str, Any]]:
    form = bound or MessageForm(
        initial=screens.template_initial(breakdown=breakdown, purpose=purpose),
        prefix=COMPOSERS[purpose],
    )
    subject = str(form["subject"].value() or "")
    body = str(form["body"].value() or "")
    return form, screens.preview_message(breakdown=breakdown, subject=subject, body=body)


def render_detail(
    request: HttpRequest, breakdown: Breakdown, *, bound: Mapping[str, forms.Form] | None = None
) -> HttpResponse:
    bound = bound or {}
    now = timezone.now()
    update_form, update_preview = _composer(
        breakdown, TemplatePurpose.STATUS_UPDATE, bound.get("update")
    )
    clear_form, clear_preview = _composer(
        breakdown, TemplatePurpose.ALL_CLEAR, bound.get("all_clear")
    )
    unreachable, unreachable_count = screens.unreachable(breakdown=breakdown)
    cases = Paginator(screens.linked_cases(breakdown=breakdown), CASES_PAGE).get_page(
        request.GET.get("cases")
    )
    failed_action = bound.get("action")
    context = {
        **_progress_context(breakdown),
        "playbook": breakdown.playbook_version.playbook,
        "actions": screens.action_rows(breakdown=breakdown, now=now),
        "done_form": ActionDoneForm(),
        "failed_action_form": failed_action,
        "failed_action_id": getattr(failed_action, "action_id", None),
        "unreachable": unreachable,
        "unreachable_count": unreachable_count,
        "unreachable_more": unreachable_count - len(unreachable),
        "cases_page": cases,
        "update_form": update_form,
        "update_preview": update_preview,
        "clear_form": clear_form,
        "clear_preview": clear_preview,
        "placeholders": PLACEHOLDERS.items(),
        "waves": screens.waves(breakdown=breakdown),
        "events": selectors.breakdown_timeline(breakdown=breakdown),
        "refusal": [e for key, f in bound.items() if key != "action" for e in f.non_field_errors()],
        "now": now,
        "can_declare": request.user.has_perm(DECLARE),
        "can_work": request.user.has_perm(WORK),
        "open_composer": next((k for k in ("update", "all_clear") if k in bound), None),
    }
    return render(request, "breakdowns/detail.html", context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def breakdown_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_detail(request, _get(pk))


@require_GET
@permission_required(VIEW, raise_exception=True)
def breakdown_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, for htmx to poll while the outreach runs."""
    breakdown = _get(pk)
    return vary_on_htmx(render(request, "breakdowns/_progress.html", _progress_context(breakdown)))


@require_POST
@permission_required(VIEW, raise_exception=True)
def breakdown_render(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview a message as the first affected customer will read it (htmx); writes nothing."""
    breakdown = _get(pk)
    prefix = request.POST.get("prefix", "")
    prefix = f"{prefix}-" if prefix in COMPOSERS.values() else ""
    preview = screens.preview_message(
        breakdown=breakdown,
        subject=request.POST.get(f"{prefix}subject", "")[:300],
        body=request.POST.get(f"{prefix}body", "")[:20_000],
    )
    return vary_on_htmx(render(request, "breakdowns/_message_preview.html", {"preview": preview}))


# A lead's action on the breakdown page: the breakdown and the form's cleaned data.
Run = Callable[[Breakdown, dict[str, Any]], object]


def _act(
    request: HttpRequest,
    pk: int,
    *,
    key: str,
    form_class: type[forms.Form],
    run: Run,
    done: str,
    anchor: str = "",
    prefix: str | None = None,
) -> HttpResponse:
    """Validate the form, call its service, and come back to the breakdown page."""
    breakdown = _get(pk)
    form = form_class(request.POST, prefix=prefix)
    return perform(
        request,
        lambda data: run(breakdown, data),
        form=form,
        refuse=_refuse,
        page=lambda: render_detail(request, breakdown, bound={key: form}),
        success=done,
        redirect_to=_url("detail", breakdown, anchor),
    )


def _lead(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    return require_POST(permission_required(DECLARE, raise_exception=True)(view))


@_lead
def breakdown_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        key="pause",
        form_class=EmptyForm,
        run=lambda breakdown, _: services.breakdown_pause_outreach(
            breakdown=breakdown, actor=request.user
        ),
        done="Outreach paused: messages not yet sent are held until you resume.",
    )


@_lead
def breakdown_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        key="resume",
        form_class=EmptyForm,
        run=lambda breakdown, _: services.breakdown_resume_outreach(
            breakdown=breakdown, actor=request.user
        ),
        done="Outreach resumed.",
    )


@_lead
def breakdown_post_update(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        key="update",
        form_class=MessageForm,
        prefix="update",
        run=lambda breakdown, data: services.breakdown_post_update(
            breakdown=breakdown, actor=request.user, body=data["body"], subject=data["subject"]
        ),
        done="Status update sent to every affected customer with a case.",
        anchor="waves",
    )


@_lead
def breakdown_all_clear(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        key="all_clear",
        form_class=MessageForm,
        prefix="all_clear",
        run=lambda breakdown, data: services.breakdown_all_clear(
            breakdown=breakdown, actor=request.user, body=data["body"], subject=data["subject"]
        ),
        done="All clear given: the checklist is closed and the cases move to follow-up.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def breakdown_action_done(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    breakdown = _get(pk)
    action = get_object_or_404(BreakdownAction, pk=action_pk, breakdown=breakdown)
    form = ActionDoneForm(request.POST)
    form.action_id = action.pk  # type: ignore[attr-defined]
    return perform(
        request,
        lambda data: services.breakdown_action_complete(
            action=action, actor=request.user, note=data["note"]
        ),
        form=form,
        refuse=_refuse,
        page=lambda: render_detail(request, breakdown, bound={"action": form}),
        success=f"Done: {action.title}.",
        redirect_to=_url("detail", breakdown, f"action-{action.pk}"),
    )


# --- The review --------------------------------------------------------------------------------


def _review_of(breakdown: Breakdown) -> BreakdownReview | None:
    return BreakdownReview.objects.filter(breakdown=breakdown).first()


def render_review(
    request: HttpRequest,
    breakdown: Breakdown,
    *,
    bound: Mapping[str, forms.Form] | None = None,
    bound_item: int | None = None,
) -> HttpResponse:
    bound = bound or {}
    review = _review_of(breakdown)
    items: list[ReviewActionItem] = []
    if review is not None:
        items = list(
            review.action_items.select_related("owner", "failure_mode", "playbook").order_by("id")
        )
    for item in items:
        item.playbook_url = _playbook_url(item.playbook_id)  # type: ignore[attr-defined]
        fm_form = bound.get("to_failure_mode") if bound_item == item.pk else None
        blank = ToFailureModeForm(
            initial={"title": item.text[:160], "severity": 5, "occurrence": 3, "detection": 5},
            prefix=f"item{item.pk}",
        )
        item.fm_form = fm_form or blank  # type: ignore[attr-defined]
        item.fm_open = fm_form is not None  # type: ignore[attr-defined]
    initial: dict[str, Any] = {}
    if review is not None:
        initial = {
            "went_well": review.went_well,
            "went_badly": review.went_badly,
            "actual_cost": review.actual_cost,
            "cost_currency": review.cost_currency,
        }
    can_edit = request.user.has_perm(DECLARE) and breakdown.status in (
        Breakdown.Status.ALL_CLEAR,
        Breakdown.Status.CLOSED,
    )
    editable = breakdown.status == Breakdown.Status.ALL_CLEAR
    context = {
        "breakdown": breakdown,
        "review": review,
        "figures": selectors.breakdown_review_figures(breakdown=breakdown),
        "events": selectors.breakdown_timeline(breakdown=breakdown),
        "loop": selectors.breakdown_case_loop(breakdown=breakdown),
        "document_form": bound.get("document_cases")
        or DocumentCasesForm(
            initial={
                "root_cause": getattr(review, "root_cause", ""),
                "what_was_done": getattr(review, "what_was_done", ""),
                "prevention_idea": getattr(review, "prevention_idea", ""),
            }
        ),
        "follow_up_form": bound.get("follow_up_cases")
        or FollowUpCasesForm(
            initial={
                "body": "{{ customer.first_name }}, now that the lights are back on: did we "
                "put things right for you, and would you come back to us?"
            }
        ),
        "form": bound.get("review") or ReviewForm(initial=initial),
        "item_form": bound.get("item") or ActionItemForm(),
        "items": items,
        "can_edit": can_edit,
        "editable": editable,
        # A form not on the page (the lessons before the all-clear) still shows its refusal.
        "refusal": [
            e
            for key, f in bound.items()
            if key not in ("item", "document_cases", "follow_up_cases")
            and (key != "review" or not (can_edit and editable))
            for e in f.non_field_errors()
        ],
    }
    return render(request, "breakdowns/review.html", context)


@permission_required(VIEW, raise_exception=True)
def breakdown_review(request: HttpRequest, pk: int) -> HttpResponse:
    breakdown = _get(pk)
    if request.method != "POST":
        return render_review(request, breakdown)
    if not request.user.has_perm(DECLARE):
        raise PermissionDenied("Only leads and managers write the review.")
    form = ReviewForm(request.POST)
    complete = "complete" in request.POST

    return perform(
        request,
        lambda data: services.breakdown_review_save(
            breakdown=breakdown,
            actor=request.user,
            went_well=data["went_well"],
            went_badly=data["went_badly"],
            actual_cost=data["actual_cost"],
            cost_currency=data["cost_currency"],
            complete=complete,
        ),
        form=form,
        refuse=_refuse,
        page=lambda: render_review(request, breakdown, bound={"review": form}),
        success="Review completed: the breakdown is closed." if complete else "Review saved.",
        redirect_to=_url("review", breakdown),
    )


@require_POST
@permission_required(DECLARE, raise_exception=True)
def breakdown_document_cases(request: HttpRequest, pk: int) -> HttpResponse:
    """The review's root cause documents every open case of the breakdown."""
    breakdown = _get(pk)
    form = DocumentCasesForm(request.POST)
    return perform(
        request,
        lambda data: services.breakdown_document_cases(
            breakdown=breakdown, actor=request.user, **data
        ),
        form=form,
        refuse=_refuse,
        page=lambda: render_review(request, breakdown, bound={"document_cases": form}),
        success=lambda outcome: outcome.summary(),
        redirect_to=partial(_after_bulk, breakdown),
    )


@require_POST
@permission_required(DECLARE, raise_exception=True)
def breakdown_follow_up_cases(request: HttpRequest, pk: int) -> HttpResponse:
    """Every fixed case's follow-up, as one wave."""
    breakdown = _get(pk)
    form = FollowUpCasesForm(request.POST)
    return perform(
        request,
        lambda data: services.breakdown_follow_up_cases(
            breakdown=breakdown, actor=request.user, **data
        ),
        form=form,
        refuse=_refuse,
        page=lambda: render_review(request, breakdown, bound={"follow_up_cases": form}),
        success=lambda outcome: outcome.summary(),
        redirect_to=partial(_after_bulk, breakdown),
    )


@require_POST
@permission_required(DECLARE, raise_exception=True)
def breakdown_close_cases(request: HttpRequest, pk: int) -> HttpResponse:
    """Close together every case that is documented and followed up."""
    breakdown = _get(pk)
    return perform(
        request,
        lambda: services.breakdown_close_cases(breakdown=breakdown, actor=request.user),
        success=lambda outcome: outcome.summary(),
        redirect_to=partial(_after_bulk, breakdown),
        refused_to=_url("review", breakdown, "cases-loop"),
        sentence=True,
    )


def _after_bulk(breakdown: Breakdown, outcome: BulkOutcome | CaseBulkRun) -> str:
    """Back to the review, or to the run's progress when the cases went to the background."""
    if isinstance(outcome, CaseBulkRun):
        return reverse("cases:bulk_run", args=[outcome.pk])
    return _url("review", breakdown, "cases-loop")


@require_POST
@permission_required(DECLARE, raise_exception=True)
def review_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    breakdown = _get(pk)
    form = ActionItemForm(request.POST)

    return perform(
        request,
        lambda data: services.review_action_item_add(
            breakdown=breakdown,
            actor=request.user,
            kind=data["kind"],
            text=data["text"],
            owner=data["owner"],
            playbook=data["playbook"],
        ),
        form=form,
        refuse=_refuse,
        page=lambda: render_review(request, breakdown, bound={"item": form}),
        success="Action item added.",
        redirect_to=_url("review", breakdown, "action-items"),
    )


def _item(breakdown: Breakdown, item_pk: int) -> ReviewActionItem:
    return get_object_or_404(ReviewActionItem, pk=item_pk, review__breakdown=breakdown)


@require_POST
@permission_required(DECLARE, raise_exception=True)
def review_item_done(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    breakdown = _get(pk)
    item = _item(breakdown, item_pk)
    form = ItemDoneForm(request.POST)
    return perform(
        request,
        lambda data: services.review_action_item_set_done(
            item=item, actor=request.user, done=data["done"]
        ),
        form=form,
        refuse=add_banner,
        page=lambda: render_review(request, breakdown, bound={"item_done": form}),
        success="Action item updated.",
        redirect_to=_url("review", breakdown, "action-items"),
    )


@require_POST
@permission_required(DECLARE, raise_exception=True)
def review_item_to_failure_mode(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    breakdown = _get(pk)
    item = _item(breakdown, item_pk)
    form = ToFailureModeForm(request.POST, prefix=f"item{item.pk}")

    return perform(
        request,
        lambda data: services.review_action_item_to_failure_mode(
            item=item,
            actor=request.user,
            touchpoint=data["touchpoint"],
            title=data["title"],
            severity=data["severity"],
            occurrence=data["occurrence"],
            detection=data["detection"],
            description=data["description"],
        ),
        form=form,
        refuse=_refuse,
        page=lambda: render_review(
            request, breakdown, bound={"to_failure_mode": form}, bound_item=item.pk
        ),
        success=lambda mode: (
            f"Proposed as a failure mode: {mode.title}. Colleagues can vote on it."
        ),
        redirect_to=_url("review", breakdown, "action-items"),
    )
