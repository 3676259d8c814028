"""The case pages: the inbox, opening a case, the case page and its step forms, the policy.

Each step form posts to its own view, which calls one service. A refused
transition (Conflict) comes back as a banner on that step with the service's
reason; a rejected value (ValidationFailed) as an error on its field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from bounceback.accounts.models import User
from bounceback.breakdowns.models import Breakdown
from bounceback.breakdowns.selectors import breakdowns_for_case
from bounceback.breakdowns.services import breakdown_link_case, breakdown_unlink_case
from bounceback.cases import services
from bounceback.cases.forms import (
    ApologyForm,
    AssignForm,
    BreakdownLinkForm,
    BulkForm,
    CallForm,
    CaseOpenForm,
    CustomerMessageForm,
    DocumentForm,
    EmptyForm,
    FailureModeForm,
    FixForm,
    FollowUpForm,
    InboxForm,
    NoteForm,
    OutcomeForm,
    PolicyForm,
    ReasonForm,
    ReopenForm,
    ReviewForm,
    UpdateForm,
)
from bounceback.cases.inbox import (
    COUNT_CAP,
    SORTS,
    VIEWS,
    InboxQuery,
    cases_inbox_page,
    cases_inbox_rows,
)
from bounceback.cases.models import Case, CaseBulkRun, Severity
from bounceback.cases.policy import policy_for
from bounceback.cases.selectors import (
    case_colleagues_viewing,
    case_events,
    case_timers,
    reply_channel_for,
)
from bounceback.cases.stepper import case_progress
from bounceback.coach.scoring import CoachResult
from bounceback.customers.models import Customer
from bounceback.customers.selectors import customer_list
from bounceback.errors import Conflict, ServiceError, ValidationFailed
from bounceback.outbox.channels import usable_channels
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import outbox_retry_now
from bounceback.savedviews.selectors import saved_views_of
from bounceback.web.actions import perform
from bounceback.web.forms import add_banner, add_refusal, add_service_error, as_sentence
from bounceback.web.htmx import is_htmx, vary_on_htmx

INBOX_PAGE = 50
CUSTOMER_RESULTS = 8

VIEW = "cases.view_case"
CHANGE = "cases.change_case"

# Delivery states worth a person's attention, and who may act on them.
RETRYABLE = {OutboundMessage.State.FAILED, OutboundMessage.State.RETRYING}
RETRY_PERMISSION = "outbox.change_outboundmessage"
# Linking a complaint to a breakdown: whoever works the case, or runs breakdowns.
LINK_PERMISSIONS = (CHANGE, "breakdowns.declare_breakdown")


def case_url(case: Case, anchor: str = "") -> str:
    """The case page's address, at `anchor` when given (other apps' panels link back here)."""
    url = reverse("cases:detail", args=[case.pk])
    return f"{url}#{anchor}" if anchor else url


def case_for_page(pk: int) -> Case:
    """The case with everything `render_case_page` shows of it, or 404."""
    return get_object_or_404(
        Case.objects.select_related(
            "customer",
            "site",
            "transaction",
            "assignee",
            "team",
            "created_by",
            "failure_mode__touchpoint",
            "breakdown",
        ).prefetch_related("customer__emails", "customer__phones"),
        pk=pk,
    )


# --- The inbox ---------------------------------------------------------------------------


@require_GET
@permission_required(VIEW, raise_exception=True)
def case_inbox(request: HttpRequest) -> HttpResponse:
    """Open cases in one view (mine by default), soonest-due first; htmx refreshes the
    list in place every minute. The whole view is in the query string."""
    query = InboxQuery.from_params(request.GET)
    # The minutely htmx refresh redraws only the list, not the tabs: no counts.
    counts = not is_htmx(request)
    try:
        page = cases_inbox_page(
            user=request.user, query=query, after=request.GET.get("after"), counts=counts
        )
    except ValidationFailed:
        # A stale or hand-edited cursor: start the view from its first page.
        page = cases_inbox_page(user=request.user, query=query, counts=counts)
    for case in page.cases:
        case.next_timer = page.next_timers.get(case.pk)  # type: ignore[attr-defined]
        case.leading_segment = page.segments.get(case.customer_id)  # type: ignore[attr-defined]
    context = {
        "form": InboxForm(query),
        "query": query,
        "scope": query.view,
        "scopes": [(value, label, page.counts.get(value, 0)) for value, label in VIEWS],
        "count_cap": COUNT_CAP,
        "cases": page.cases,
        "next_after": page.next_after,
        "paged": bool(request.GET.get("after")),
        "filtered": query.filtered,
        "now": page.now,
        "sorts": [(name, label) for name, (label, _order) in SORTS.items()],
        "saved_views": list(saved_views_of(request.user)),
        "view_params": query.to_params(),
        "view_query": urlencode(query.to_params()),
    }
    template = "cases/_inbox_results.html" if is_htmx(request) else "cases/inbox.html"
    return vary_on_htmx(render(request, template, context))


def _back(request: HttpRequest) -> str:
    """Where a bulk action returns: the list as it was, never another site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("cases:inbox")


def _bulk_cases(request: HttpRequest, data: dict[str, Any]) -> list[Case]:
    """The cases a bulk action is for: those ticked, or every case of the inbox view."""
    if data["everything"]:
        query = InboxQuery.from_params(QueryDict(data["view"] or ""))
        rows = cases_inbox_rows(user=request.user, query=query)
        return list(rows.select_related("customer").order_by("pk"))
    ids = list(dict.fromkeys(data["case"]))
    cases = list(Case.objects.select_related("customer").filter(pk__in=ids))
    if len(cases) != len(ids):
        raise Conflict("some of the ticked cases no longer exist; reload the list")
    return cases


@require_POST
@permission_required(CHANGE, raise_exception=True)
def case_bulk(request: HttpRequest) -> HttpResponse:
    """Apply one action to the ticked cases (or every case of the view); says what was done
    and what was refused, why. A large selection goes to the background: its page follows."""
    form = BulkForm(request.POST)
    back = _back(request)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    data = form.cleaned_data

    def run() -> services.BulkOutcome | CaseBulkRun:
        return services.cases_bulk_request(
            cases=_bulk_cases(request, data),
            action=data["action"],
            actor=request.user,
            back_url=back,
            assignee=data["assignee"],
            assignee_given=True,
            failure_mode=data["failure_mode"],
            body=data["body"],
            early_reason=data["early_reason"],
            root_cause=data["root_cause"],
            what_was_done=data["what_was_done"],
            prevention_idea=data["prevention_idea"],
        )

    try:
        outcome = run()
    except ServiceError as error:
        messages.error(request, as_sentence(error.message))
        return redirect(back)
    messages.success(request, outcome.summary())
    if isinstance(outcome, CaseBulkRun):
        return redirect("cases:bulk_run", outcome.pk)
    return redirect(back)


@require_GET
@permission_required(VIEW, raise_exception=True)
def case_bulk_run(request: HttpRequest, pk: int) -> HttpResponse:
    """A background bulk action's progress and, once it ends, what it did and what it
    could not; htmx refreshes it while it runs."""
    run = get_object_or_404(CaseBulkRun.objects.select_related("requested_by"), pk=pk)
    context = {"run": run, "refused": run.refused[:100]}
    template = "cases/_bulk_run.html" if is_htmx(request) else "cases/bulk_run.html"
    return vary_on_htmx(render(request, template, context))


# --- Opening a case --------------------------------------------------------------------------

_OPEN_FIELDS: dict[str, str | None] = {
    "transaction_id": "transaction",
    "assignee_id": "assignee",
    "failure_mode_id": "failure_mode",
}


def _chosen_customer(request: HttpRequest) -> Customer | None:
    raw = request.POST.get("customer") or request.GET.get("customer") or ""
    if not raw.isdigit():
        return None
    return Customer.objects.prefetch_related("emails", "phones").filter(pk=int(raw)).first()


@permission_required("cases.add_case", raise_exception=True)
def case_new(request: HttpRequest) -> HttpResponse:
    """Open a case: first find the customer, then say what went wrong.

    `?customer=ID` (the link on the customer page) starts with the customer
    chosen; `?q=` searches, and htmx asks for the results only.
    """
    customer = _chosen_customer(request)
    query = request.GET.get("q", "").strip()[:200]
    results: list[Customer] = []
    more = False
    if query and customer is None:
        found = list(customer_list(query=query)[: CUSTOMER_RESULTS + 1])
        results, more = found[:CUSTOMER_RESULTS], len(found) > CUSTOMER_RESULTS
    search = {"query": query, "results": results, "more": more}
    if request.method == "GET" and is_htmx(request) and "q" in request.GET:
        return vary_on_htmx(render(request, "cases/_customer_results.html", search))

    initial: dict[str, Any] = {"assignee": request.user.pk, "severity": Severity.NORMAL}
    if customer is not None:
        initial.update(customer=customer.pk, channel=customer.preferred_channel)
    form = CaseOpenForm(
        request.POST if request.method == "POST" else None, customer=customer, initial=initial
    )

    def opened(case: Case) -> str:
        policy = policy_for(severity=case.severity)
        return f"Case {case.reference} opened. Apologise within {policy.apologise_minutes} minutes."

    return perform(
        request,
        lambda data: services.case_open(
            customer=data["customer"],
            summary=data["summary"],
            description=data["description"],
            channel=data["channel"],
            severity=data["severity"],
            site=data["site"],
            failure_mode=data["failure_mode"],
            related_transaction=data["transaction"],
            assignee=data["assignee"],
            actor=request.user,
        ),
        form=form,
        refuse=partial(add_service_error, field_map=_OPEN_FIELDS),
        page=lambda: vary_on_htmx(
            render(request, "cases/new.html", {"form": form, "customer": customer, **search})
        ),
        success=opened,
        redirect_to=case_url,
    )


# --- The case page -----------------------------------------------------------------------------


def _events(case: Case) -> list[Any]:
    """The timeline, newest first like the customer page, with each message's delivery."""
    rows = list(case_events(case=case).select_related("interaction__outbound_message").reverse())
    for event in rows:
        interaction = event.interaction
        event.message = interaction  # type: ignore[attr-defined]
        event.delivery = (  # type: ignore[attr-defined]
            getattr(interaction, "outbound_message", None) if interaction else None
        )
    return rows


def _step_forms(case: Case, bound: Mapping[str, forms.Form]) -> dict[str, forms.Form]:
    usable = usable_channels()
    channel = reply_channel_for(case, usable)
    first_name = case.customer.name.split()[0] if case.customer.name.strip() else ""
    fresh: dict[str, Callable[[], forms.Form]] = {
        "apologise": lambda: ApologyForm(initial={"channel": channel}, usable=usable),
        "review": lambda: ReviewForm(initial=ReviewForm.initial_for(case)),
        "update": lambda: UpdateForm(initial={"channel": channel}, usable=usable),
        "fix": lambda: FixForm(initial={"channel": channel}, usable=usable),
        "follow_up": lambda: FollowUpForm(
            usable=usable,
            initial={
                "channel": channel,
                "body": f"{first_name}, we wanted to check that everything is right now. "
                "Did we put things right for you, and would you come back to us?",
            },
        ),
        "outcome": lambda: OutcomeForm(),
        "document": lambda: DocumentForm(
            initial={
                "root_cause": case.root_cause,
                "what_was_done": case.what_was_done or case.fix_summary,
                "prevention_idea": case.prevention_idea,
            }
        ),
        "close": lambda: EmptyForm(),
        "reopen": lambda: ReopenForm(),
        "wait": lambda: ReasonForm(),
        "customer_message": lambda: CustomerMessageForm(initial={"channel": case.channel}),
        "call": lambda: CallForm(),
        "resume": lambda: EmptyForm(),
        "assign": lambda: AssignForm(initial={"assignee": case.assignee_id}),
        "failure_mode": lambda: FailureModeForm(initial={"failure_mode": case.failure_mode_id}),
        "retry": lambda: EmptyForm(),
        "note": lambda: NoteForm(),
    }
    return {key: bound.get(key) or make() for key, make in fresh.items()}


# Which step each form belongs to; None for the actions outside the steps.
_FORM_STEP: dict[str, str | None] = {
    "update": "fix",
    "outcome": "follow_up",
    "reopen": "close",
    "wait": None,
    "customer_message": None,
    "call": None,
    "resume": None,
    "assign": None,
    "failure_mode": None,
    "retry": None,
    "note": None,
    "breakdown": None,
    "breakdown_unlink": None,
}


def _step_to_open(steps: list[Any]) -> str | None:
    """The step the page opens: the next one; else one waiting (a cool-off, with its
    early follow-up); else the first not done; else the last (a closed case's reopen)."""
    for wanted in ("next", "waiting"):
        found = next((s for s in steps if s.state == wanted), None)
        if found is not None:
            return str(found.key)
    pending = next((s for s in steps if s.state not in ("done", "skipped")), None)
    if pending is not None:
        return str(pending.key)
    return str(steps[-1].key) if steps else None


def render_case_page(
    request: HttpRequest,
    case: Case,
    *,
    bound: Mapping[str, forms.Form] | None = None,
    coach: CoachResult | None = None,
) -> HttpResponse:
    """The case page; a step view re-renders it with its bound form when refused."""
    bound = bound or {}
    now = timezone.now()
    timers = case_timers(case=case, now=now)
    progress = case_progress(case=case, timers=timers, now=now)
    policy = policy_for(severity=case.severity)
    events = _events(case)
    undelivered = [e for e in events if e.delivery is not None and e.delivery.state in RETRYABLE]
    latest: dict[str, Any] = {}
    for event in events:
        latest.setdefault(event.kind, event)
    step_forms = _step_forms(case, bound)
    can_link = _can_link(request)
    if can_link and case.breakdown_id is None:
        step_forms["breakdown"] = bound.get("breakdown") or BreakdownLinkForm(
            options=breakdowns_for_case(case=case)
        )
    if can_link and case.breakdown_id is not None:
        step_forms["breakdown_unlink"] = bound.get("breakdown_unlink") or EmptyForm()
    # The step to show open: the one whose form came back refused, else what is next.
    # Refusals that are not about one field (a Conflict) show as a banner on that
    # step, or at the top of the page for the actions outside the steps.
    failed = next(iter(bound), None)
    refusal = list(bound[failed].non_field_errors()) if failed else []
    refusal_step = _FORM_STEP.get(failed, failed) if failed else None
    open_step = refusal_step or _step_to_open(progress.steps)
    context = {
        "case": case,
        "colleagues": case_colleagues_viewing(case=case, user=request.user, now=now),
        "customer": case.customer,
        "progress": progress,
        "steps": progress.steps,
        "timers": timers,
        "events": events,
        "latest": latest,
        "undelivered": undelivered,
        "policy": policy,
        "forms": step_forms,
        "open_step": open_step,
        "refusal": refusal,
        "refusal_step": refusal_step,
        "coach": coach,
        "now": now,
        "can_change": request.user.has_perm(CHANGE),
        "can_retry": request.user.has_perm(RETRY_PERMISSION),
        "can_link": can_link,
    }
    return render(request, "cases/detail.html", context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_for_page(pk)
    # Seen before rendering, so the page warns only about *other* people on it.
    if isinstance(request.user, User):
        services.case_viewed(case=case, user=request.user)
    return render_case_page(request, case)


@require_POST
@permission_required(VIEW, raise_exception=True)
def case_coach(request: HttpRequest, pk: int) -> HttpResponse:
    """Score the draft apology as the agent types (htmx); writes nothing."""
    case = get_object_or_404(Case.objects.select_related("customer"), pk=pk)
    text = request.POST.get("body", "")[:20_000]
    result = services.case_coach(case=case, text=text) if text.strip() else None
    policy = policy_for(severity=case.severity)
    return vary_on_htmx(
        render(request, "cases/_coach.html", {"coach": result, "policy": policy, "case": case})
    )


# --- Step actions ------------------------------------------------------------------------------

Run = Callable[[Case, forms.Form], Any]


def _act(
    request: HttpRequest,
    pk: int,
    *,
    key: str,
    form_class: type[forms.Form],
    run: Run,
    done: str | Callable[[Case], str],
    field_map: Mapping[str, str | None] | None = None,
) -> HttpResponse:
    """Validate the step's form, call its service, and come back to the case page."""
    case = case_for_page(pk)
    form = form_class(request.POST)
    coach: CoachResult | None = None

    def refuse(refused: forms.Form, error: ServiceError) -> None:
        nonlocal coach
        if isinstance(error, ValidationFailed) and error.code == "apology_below_threshold":
            coach = services.case_coach(case=case, text=refused.cleaned_data["body"])
            refused.add_error(
                "override_reason",
                f"The coach scores this apology {coach.score}, below the policy's "
                f"{coach.threshold}. Improve it using the suggestions, or say why it "
                "should go as it is.",
            )
        else:
            add_refusal(refused, error, field_map=field_map)

    def page() -> HttpResponse:
        shown = coach
        if key == "apologise" and shown is None and form.data.get("body", "").strip():
            shown = services.case_coach(case=case, text=form.data["body"])
        return render_case_page(request, case, bound={key: form}, coach=shown)

    def updated(result: Any) -> Case:
        return result if isinstance(result, Case) else case

    return perform(
        request,
        lambda _: run(case, form),
        form=form,
        refuse=refuse,
        page=page,
        success=lambda result: done(updated(result)) if callable(done) else done,
        redirect_to=lambda result: case_url(updated(result)),
    )


def _guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Step actions are POSTs by staff who may change cases."""
    return require_POST(permission_required(CHANGE, raise_exception=True)(view))


@_guarded
def case_apologise(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        data = form.cleaned_data
        return services.case_apologise(
            case=case,
            actor=request.user,
            body=data["body"],
            channel=data["channel"],
            override_reason=data["override_reason"],
        )

    return _act(request, pk, key="apologise", form_class=ApologyForm, run=run, done="Apology sent.")


@_guarded
def case_review(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_review(
            case=case,
            actor=request.user,
            **form.service_kwargs(),  # type: ignore[attr-defined]
        )

    return _act(request, pk, key="review", form_class=ReviewForm, run=run, done="Review saved.")


@_guarded
def case_send_update(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        data = form.cleaned_data
        return services.case_send_update(
            case=case, actor=request.user, body=data["body"], channel=data["channel"]
        )

    return _act(
        request, pk, key="update", form_class=UpdateForm, run=run, done="Progress update sent."
    )


@_guarded
def case_mark_fixed(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        data = form.cleaned_data
        return services.case_mark_fixed(
            case=case,
            actor=request.user,
            fix_summary=data["fix_summary"],
            message=data["message"],
            channel=data["channel"],
        )

    def done(case: Case) -> str:
        ends = services.cool_off_ends(case)
        when = f" after {timezone.localtime(ends):%d %b, %H:%M}" if ends else ""
        return f"Marked fixed. Follow up{when}, once the customer has had time to cool off."

    return _act(request, pk, key="fix", form_class=FixForm, run=run, done=done)


@_guarded
def case_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        data = form.cleaned_data
        return services.case_follow_up(
            case=case,
            actor=request.user,
            body=data["body"],
            channel=data["channel"],
            early_reason=data["early_reason"],
        )

    return _act(
        request, pk, key="follow_up", form_class=FollowUpForm, run=run, done="Follow-up sent."
    )


@_guarded
def case_record_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_record_follow_up(
            case=case,
            actor=request.user,
            **form.service_kwargs(),  # type: ignore[attr-defined]
        )

    def done(case: Case) -> str:
        if case.satisfied:
            return "Answer recorded: the customer is satisfied."
        if case.satisfied is False:
            return "Answer recorded: the customer is not satisfied, and the recovery ends here."
        return "Answer recorded: the customer is not satisfied, so the recovery is reopened."

    return _act(request, pk, key="outcome", form_class=OutcomeForm, run=run, done=done)


@_guarded
def case_document(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_document(case=case, actor=request.user, **form.cleaned_data)

    return _act(
        request, pk, key="document", form_class=DocumentForm, run=run, done="Documentation saved."
    )


@_guarded
def case_close(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_close(case=case, actor=request.user)

    return _act(
        request,
        pk,
        key="close",
        form_class=EmptyForm,
        run=run,
        done=lambda case: f"Case {case.reference} closed.",
    )


@_guarded
def case_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_reopen(case=case, actor=request.user, **form.cleaned_data)

    return _act(request, pk, key="reopen", form_class=ReopenForm, run=run, done="Case reopened.")


@_guarded
def case_wait(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_wait_on_customer(case=case, actor=request.user, **form.cleaned_data)

    return _act(
        request,
        pk,
        key="wait",
        form_class=ReasonForm,
        run=run,
        done="Waiting on the customer: every timer is paused.",
    )


@_guarded
def case_customer_message(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_log_customer_message(
            case=case, actor=request.user, **form.cleaned_data
        )

    return _act(
        request,
        pk,
        key="customer_message",
        form_class=CustomerMessageForm,
        run=run,
        done="Recorded what the customer said.",
    )


@_guarded
def case_call(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_log_call(case=case, actor=request.user, **form.cleaned_data)

    return _act(request, pk, key="call", form_class=CallForm, run=run, done="Call logged.")


@_guarded
def case_resume(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_resume(case=case, actor=request.user)

    return _act(
        request,
        pk,
        key="resume",
        form_class=EmptyForm,
        run=run,
        done="Resumed: the timers continue with the time they had left.",
    )


@_guarded
def case_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def run(case: Case, form: forms.Form) -> Case:
        return services.case_assign(
            case=case, actor=request.user, assignee=form.cleaned_data["assignee"]
        )

    def done(case: Case) -> str:
        return f"Assigned to {case.assignee}." if case.assignee else "Nobody is assigned now."

    return _act(
        request,
        pk,
        key="assign",
        form_class=AssignForm,
        run=run,
        done=done,
        field_map={"assignee_id": "assignee"},
    )


@_guarded
def case_set_failure_mode(request: HttpRequest, pk: int) -> HttpResponse:
    """Link the case to what went wrong in the catalog (or clear the link)."""

    def run(case: Case, form: forms.Form) -> Case:
        return services.case_update(
            case=case, actor=request.user, failure_mode=form.cleaned_data["failure_mode"]
        )

    def done(case: Case) -> str:
        if case.failure_mode is None:
            return "The case is no longer linked to a failure mode."
        return f"Failure mode set: {case.failure_mode}."

    return _act(
        request,
        pk,
        key="failure_mode",
        form_class=FailureModeForm,
        run=run,
        done=done,
        field_map={"failure_mode_id": "failure_mode"},
    )


@_guarded
def case_note(request: HttpRequest, pk: int) -> HttpResponse:
    """An internal note on the timeline; the colleagues it @mentions are notified."""

    def run(case: Case, form: forms.Form) -> Any:
        return services.case_note_add(case=case, actor=request.user, body=form.cleaned_data["body"])

    def done(case: Case) -> str:
        names = services.note_mentions(request.POST.get("body", ""))
        mine = getattr(request.user, "username", "").lower()
        told = [f"@{n}" for n in names if n != mine]
        return "Note added" + (f"; {', '.join(told)} notified." if told else ".")

    return _act(request, pk, key="note", form_class=NoteForm, run=run, done=done)


def _can_link(request: HttpRequest) -> bool:
    return any(request.user.has_perm(p) for p in LINK_PERMISSIONS)


@require_POST
@permission_required(VIEW, raise_exception=True)
def case_link_breakdown(request: HttpRequest, pk: int) -> HttpResponse:
    """A complaint that came in on its own: link it to the breakdown it is about."""
    if not _can_link(request):
        raise PermissionDenied
    case = case_for_page(pk)
    options = breakdowns_for_case(case=case)

    def form_class(data: Any) -> forms.Form:
        return BreakdownLinkForm(data, options=options)

    def run(case: Case, form: forms.Form) -> Case:
        breakdown = get_object_or_404(Breakdown, pk=form.cleaned_data["breakdown"])
        return breakdown_link_case(breakdown=breakdown, case=case, actor=request.user)

    def done(case: Case) -> str:
        breakdown = case.breakdown
        return f"Linked to breakdown {breakdown.reference}: {breakdown.title}." if breakdown else ""

    return _act(
        request,
        pk,
        key="breakdown",
        form_class=form_class,  # type: ignore[arg-type]
        run=run,
        done=done,
        field_map={"breakdown_id": "breakdown"},
    )


@require_POST
@permission_required(VIEW, raise_exception=True)
def case_unlink_breakdown(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a link made by mistake."""
    if not _can_link(request):
        raise PermissionDenied

    def run(case: Case, form: forms.Form) -> Case:
        if case.breakdown is None:
            raise Conflict("the case is not linked to a breakdown")
        return breakdown_unlink_case(breakdown=case.breakdown, case=case, actor=request.user)

    return _act(
        request,
        pk,
        key="breakdown_unlink",
        form_class=EmptyForm,
        run=run,
        done="The case is no longer linked to a breakdown.",
    )


@require_POST
@permission_required(RETRY_PERMISSION, raise_exception=True)
def case_retry_message(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    """Leads and managers send a failed or waiting message again, now."""
    case = case_for_page(pk)
    message = (
        OutboundMessage.objects.filter(pk=message_pk, interaction__case=case)
        .select_related("interaction")
        .first()
    )
    if message is None:
        raise Http404("No such message on this case")
    form = EmptyForm(request.POST)
    return perform(
        request,
        lambda _: outbox_retry_now(message=message),
        form=form,
        refuse=add_banner,
        page=lambda: render_case_page(request, case, bound={"retry": form}),
        success="The message is queued to be sent again now.",
        redirect_to=case_url(case, f"event-{message.interaction_id}"),
    )


# --- The recovery policy --------------------------------------------------------------------------


@permission_required("cases.change_recoverypolicy", raise_exception=True)
def policy_edit(request: HttpRequest) -> HttpResponse:
    """One form per severity; saving one calls policy_update for that severity."""
    policies = {s: policy_for(severity=s) for s in Severity.values}
    posted = request.POST.get("severity") if request.method == "POST" else None
    if posted is not None and posted not in policies:
        raise Http404("No such severity")
    forms_by_severity: dict[str, PolicyForm] = {}
    for severity, policy in policies.items():
        data = request.POST if severity == posted else None
        forms_by_severity[severity] = PolicyForm(data, instance=policy, prefix=severity)
    if posted is not None:
        form = forms_by_severity[posted]
        if form.is_valid():
            changes = form.changes()
            try:
                services.policy_update(severity=posted, actor=request.user, **changes)
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                label = Severity(posted).label.lower()
                if changes:
                    messages.success(
                        request,
                        f"Targets for {label} cases saved. They apply to timers started "
                        "from now on.",
                    )
                else:
                    messages.info(request, f"Nothing changed for {label} cases.")
                return redirect(reverse("cases:policy") + f"#policy-{posted}")
    rows = [(Severity(s).label, s, forms_by_severity[s], policies[s]) for s in Severity.values]
    return render(request, "cases/policy.html", {"rows": rows, "posted": posted})
