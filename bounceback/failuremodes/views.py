"""The catalog pages: the catalog with real case counts, proposals and votes,
a failure mode's page (edit, re-score, decide, retire), touchpoints, and the
coverage report.

Every write is a POST to its own view calling one service; a refusal comes
back on the page it was made from, with the form still filled in.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from bounceback.cases.models import Case
from bounceback.errors import ServiceError
from bounceback.failuremodes import selectors, services
from bounceback.failuremodes.forms import (
    CatalogFilterForm,
    CoverageFilterForm,
    DecisionForm,
    FailureModeForm,
    RetireForm,
    TouchpointForm,
    VoteForm,
)
from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.failuremodes.scales import BAND_FLOORS, BAND_WORDS
from bounceback.web.forms import add_service_error

VIEW = "failuremodes.view_failuremode"
PROPOSE = services.PROPOSE
DECIDE = services.DECIDE
CHANGE = services.CHANGE
CHANGE_TOUCHPOINT = services.CHANGE_TOUCHPOINT
ADD_TOUCHPOINT = services.ADD_TOUCHPOINT

RECENT_CASES = 20
RECENT_REJECTED = 10


def _scale() -> list[tuple[int, str, str]]:
    rows = []
    for index, floor in enumerate(BAND_FLOORS):
        upper = BAND_FLOORS[index + 1] if index + 1 < len(BAND_FLOORS) else None
        span = f"{floor:g} to {upper:g}" if upper is not None else f"{floor:g} or more"
        rows.append((index + 1, span, BAND_WORDS[index + 1]))
    return rows


# --- The catalog ----------------------------------------------------------------------------


def render_catalog(
    request: HttpRequest, *, propose_form: FailureModeForm | None = None
) -> HttpResponse:
    # Bound with the default period filled in, so the select shows the period
    # the counts are for.
    data = request.GET.copy()
    if not data.get("period"):
        data["period"] = str(selectors.DEFAULT_PERIOD)
    filter_form = CatalogFilterForm(data)
    filters = filter_form.filters()
    entries = selectors.catalog(
        period_days=filters["period"],
        site=filters["site"],
        status=[FailureMode.Status.ACCEPTED, FailureMode.Status.PROPOSED],
        viewer=request.user,
    )
    accepted = [e for e in entries if e.mode.status == FailureMode.Status.ACCEPTED]
    proposed = [e for e in entries if e.mode.status == FailureMode.Status.PROPOSED]
    rejected = (
        FailureMode.objects.filter(status=FailureMode.Status.REJECTED)
        .select_related("touchpoint", "decided_by")
        .order_by("-decided_at", "-id")[:RECENT_REJECTED]
    )
    can_decide = request.user.has_perm(DECIDE)
    context = {
        "filter_form": filter_form,
        "period": filters["period"],
        "site": filters["site"],
        "stages": selectors.catalog_by_touchpoint(accepted),
        "accepted_count": len(accepted),
        "disagreeing": sum(1 for e in accepted if e.observed.disagreement),
        "proposed": proposed,
        "rejected": list(rejected),
        "propose_form": propose_form or FailureModeForm(),
        "vote_form": VoteForm(),
        "decision_form": DecisionForm(),
        "can_propose": request.user.has_perm(PROPOSE),
        "can_decide": can_decide,
        "can_change": request.user.has_perm(CHANGE),
        "can_touchpoints": request.user.has_perm(CHANGE_TOUCHPOINT),
        "scale": _scale(),
    }
    return render(request, "failuremodes/catalog.html", context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def catalog(request: HttpRequest) -> HttpResponse:
    return render_catalog(request)


@require_POST
@permission_required(PROPOSE, raise_exception=True)
def propose(request: HttpRequest) -> HttpResponse:
    form = FailureModeForm(request.POST)
    if form.is_valid():
        try:
            mode = services.failure_mode_propose(actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                f"“{mode.title}” proposed. Colleagues can vote on it; a lead will accept or "
                "reject it.",
            )
            return redirect(reverse("failuremodes:catalog") + f"#proposal-{mode.pk}")
    return render_catalog(request, propose_form=form)


def _back(request: HttpRequest, mode: FailureMode) -> str:
    """Return to the page the form was on: the mode's page or the catalog's proposals."""
    if request.POST.get("next") == "detail":
        return reverse("failuremodes:detail", args=[mode.pk])
    return reverse("failuremodes:catalog") + f"#proposal-{mode.pk}"


@require_POST
@permission_required(PROPOSE, raise_exception=True)
def vote(request: HttpRequest, pk: int) -> HttpResponse:
    mode = get_object_or_404(FailureMode, pk=pk)
    form = VoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Vote for or against the proposal.")
        return redirect(_back(request, mode))
    try:
        services.failure_mode_vote(
            failure_mode=mode,
            voter=request.user,
            value=form.cleaned_data["value"],
            comment=form.cleaned_data["comment"],
        )
    except ServiceError as exc:
        messages.error(request, exc.message[:1].upper() + exc.message[1:] + ".")
    else:
        messages.success(request, f"Your vote on “{mode.title}” is counted.")
    return redirect(_back(request, mode))


@require_POST
@permission_required(DECIDE, raise_exception=True)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    mode = get_object_or_404(FailureMode, pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == "accept":
                services.failure_mode_accept(
                    failure_mode=mode, actor=request.user, reason=data["reason"]
                )
            else:
                services.failure_mode_reject(
                    failure_mode=mode, actor=request.user, reason=data["reason"]
                )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            done = "accepted into the catalog" if data["decision"] == "accept" else "rejected"
            messages.success(request, f"“{mode.title}” {done}.")
            if data["decision"] == "accept":
                return redirect(reverse("failuremodes:catalog") + f"#mode-{mode.pk}")
            return redirect(reverse("failuremodes:catalog") + "#rejected")
    return render_detail(request, mode.pk, decision_form=form)


# --- One failure mode -------------------------------------------------------------------------


def render_detail(
    request: HttpRequest,
    pk: int,
    *,
    edit_form: FailureModeForm | None = None,
    decision_form: DecisionForm | None = None,
    retire_form: RetireForm | None = None,
) -> HttpResponse:
    entries = selectors.catalog(
        status=None, failure_mode_id=pk, viewer=request.user, period_days=_period(request)
    )
    if not entries:
        raise Http404("No such failure mode")
    entry = entries[0]
    mode = entry.mode
    votes = mode.votes.select_related("voter").order_by("-at", "-id")
    cases = (
        Case.objects.filter(failure_mode=mode)
        .select_related("customer", "site")
        .order_by("-created_at", "-id")[:RECENT_CASES]
    )
    context = {
        "entry": entry,
        "mode": mode,
        "period": _period(request),
        "votes": list(votes),
        "cases": list(cases),
        "edit_form": edit_form or FailureModeForm(initial=FailureModeForm.initial_for(mode)),
        "decision_form": decision_form or DecisionForm(),
        "retire_form": retire_form or RetireForm(),
        "vote_form": VoteForm(),
        "can_propose": request.user.has_perm(PROPOSE),
        "can_decide": request.user.has_perm(DECIDE),
        "can_change": request.user.has_perm(CHANGE),
        "open_edit": edit_form is not None,
        "scale": _scale(),
        "playbooks": list(_playbooks(mode)),
    }
    return render(request, "failuremodes/detail.html", context)


def _period(request: HttpRequest) -> int:
    raw = request.GET.get("period", "")
    return int(raw) if raw.isdigit() and int(raw) in selectors.PERIODS else selectors.DEFAULT_PERIOD


def _playbooks(mode: FailureMode) -> Any:
    return mode.playbooks.filter(archived=False).order_by("name")


@require_GET
@permission_required(VIEW, raise_exception=True)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_detail(request, pk)


@require_POST
@permission_required(CHANGE, raise_exception=True)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    mode = get_object_or_404(FailureMode, pk=pk)
    form = FailureModeForm(request.POST)
    if form.is_valid():
        changes = form.changes(mode)
        try:
            if changes:
                services.failure_mode_update(failure_mode=mode, actor=request.user, **changes)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            if changes:
                messages.success(request, f"“{form.cleaned_data['title']}” saved.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("failuremodes:detail", pk=mode.pk)
    return render_detail(request, mode.pk, edit_form=form)


@require_POST
@permission_required(CHANGE, raise_exception=True)
def retire(request: HttpRequest, pk: int) -> HttpResponse:
    mode = get_object_or_404(FailureMode, pk=pk)
    form = RetireForm(request.POST)
    if form.is_valid():
        try:
            services.failure_mode_retire(
                failure_mode=mode, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                f"“{mode.title}” retired. Its cases keep the link; new cases cannot use it.",
            )
            return redirect("failuremodes:catalog")
    return render_detail(request, mode.pk, retire_form=form)


# --- Touchpoints --------------------------------------------------------------------------------


def render_touchpoints(
    request: HttpRequest,
    *,
    new_form: TouchpointForm | None = None,
    bound: tuple[int, TouchpointForm] | None = None,
) -> HttpResponse:
    rows = []
    for touchpoint in selectors.touchpoints():
        form = (
            bound[1]
            if bound and bound[0] == touchpoint.pk
            else TouchpointForm(
                initial=TouchpointForm.initial_for(touchpoint), prefix=f"tp{touchpoint.pk}"
            )
        )
        rows.append((touchpoint, form))
    context = {
        "rows": rows,
        "new_form": new_form or TouchpointForm(prefix="new"),
        "can_add": request.user.has_perm(ADD_TOUCHPOINT),
        "can_change": request.user.has_perm(CHANGE_TOUCHPOINT),
    }
    return render(request, "failuremodes/touchpoints.html", context)


@permission_required(VIEW, raise_exception=True)
def touchpoint_list(request: HttpRequest) -> HttpResponse:
    """The journey's stages; leads add (POST here) and edit them."""
    if request.method != "POST":
        return render_touchpoints(request)
    if not request.user.has_perm(ADD_TOUCHPOINT):
        raise PermissionDenied("Your role may not add touchpoints.")
    form = TouchpointForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            touchpoint = services.touchpoint_create(actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Touchpoint “{touchpoint.name}” added.")
            return redirect("failuremodes:touchpoints")
    return render_touchpoints(request, new_form=form)


@require_POST
@permission_required(CHANGE_TOUCHPOINT, raise_exception=True)
def touchpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    touchpoint = get_object_or_404(Touchpoint, pk=pk)
    form = TouchpointForm(request.POST, prefix=f"tp{pk}")
    if form.is_valid():
        try:
            services.touchpoint_update(
                touchpoint=touchpoint, actor=request.user, **form.cleaned_data
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Touchpoint “{form.cleaned_data['name']}” saved.")
            return redirect(reverse("failuremodes:touchpoints") + f"#touchpoint-{pk}")
    return render_touchpoints(request, bound=(pk, form))


# --- Coverage -------------------------------------------------------------------------------------


def _playbook_url(pk: int) -> str | None:
    # The playbook pages land with issue 5's playbooks work; until then, plain text.
    try:
        return reverse("playbooks:detail", args=[pk])
    except NoReverseMatch:
        return None


@require_GET
@permission_required(VIEW, raise_exception=True)
def coverage(request: HttpRequest) -> HttpResponse:
    form = CoverageFilterForm(request.GET or None)
    filters = form.filters()
    report = selectors.coverage(threshold=filters["threshold"], site=filters["site"])
    for row in report.rows:
        row.links = [(p, _playbook_url(p.pk)) for p in row.playbooks]  # type: ignore[attr-defined]
    context = {
        "form": form,
        "report": report,
        "gaps": report.gaps,
        "can_playbooks": request.user.has_perm("playbooks.add_playbook"),
    }
    return render(request, "failuremodes/coverage.html", context)
