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
from bounceback.web.actions import perform

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
    return perform(
        request,
        lambda data: services.failure_mode_propose(actor=request.user, **data),
        form=form,
        page=lambda: render_catalog(request, propose_form=form),
        success=lambda mode: (
            f"“{mode.title}” proposed. Colleagues can vote on it; a lead will accept or reject it."
        ),
        redirect_to=lambda mode: reverse("failuremodes:catalog") + f"#proposal-{mode.pk}",
    )


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
    return perform(
        request,
        lambda: services.failure_mode_vote(
            failure_mode=mode,
            voter=request.user,
            value=form.cleaned_data["value"],
            comment=form.cleaned_data["comment"],
        ),
        sentence=True,
        success=f"Your vote on “{mode.title}” is counted.",
        redirect_to=_back(request, mode),
    )


@require_POST
@permission_required(DECIDE, raise_exception=True)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    mode = get_object_or_404(FailureMode, pk=pk)
    form = DecisionForm(request.POST)
    accept = form.is_valid() and form.cleaned_data["decision"] == "accept"
    service = services.failure_mode_accept if accept else services.failure_mode_reject
    catalog = reverse("failuremodes:catalog")
    return perform(
        request,
        lambda data: service(failure_mode=mode, actor=request.user, reason=data["reason"]),
        form=form,
        page=lambda: render_detail(request, mode.pk, decision_form=form),
        success=f"“{mode.title}” {'accepted into the catalog' if accept else 'rejected'}.",
        redirect_to=f"{catalog}#mode-{mode.pk}" if accept else f"{catalog}#rejected",
    )


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
    if form.is_valid() and not form.changes(mode):
        messages.info(request, "Nothing changed.")
        return redirect("failuremodes:detail", pk=mode.pk)
    return perform(
        request,
        lambda _: services.failure_mode_update(
            failure_mode=mode, actor=request.user, **form.changes(mode)
        ),
        form=form,
        page=lambda: render_detail(request, mode.pk, edit_form=form),
        success=lambda _: f"“{form.cleaned_data['title']}” saved.",
        redirect_to=reverse("failuremodes:detail", args=[mode.pk]),
    )


@require_POST
@permission_required(CHANGE, raise_exception=True)
def retire(request: HttpRequest, pk: int) -> HttpResponse:
    mode = get_object_or_404(FailureMode, pk=pk)
    form = RetireForm(request.POST)
    return perform(
        request,
        lambda data: services.failure_mode_retire(
            failure_mode=mode, actor=request.user, reason=data["reason"]
        ),
        form=form,
        page=lambda: render_detail(request, mode.pk, retire_form=form),
        success=f"“{mode.title}” retired. Its cases keep the link; new cases cannot use it.",
        redirect_to="failuremodes:catalog",
    )


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
    return perform(
        request,
        lambda data: services.touchpoint_create(actor=request.user, **data),
        form=form,
        page=lambda: render_touchpoints(request, new_form=form),
        success=lambda touchpoint: f"Touchpoint “{touchpoint.name}” added.",
        redirect_to="failuremodes:touchpoints",
    )


@require_POST
@permission_required(CHANGE_TOUCHPOINT, raise_exception=True)
def touchpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    touchpoint = get_object_or_404(Touchpoint, pk=pk)
    form = TouchpointForm(request.POST, prefix=f"tp{pk}")
    return perform(
        request,
        lambda data: services.touchpoint_update(touchpoint=touchpoint, actor=request.user, **data),
        form=form,
        page=lambda: render_touchpoints(request, bound=(pk, form)),
        success=lambda _: f"Touchpoint “{form.cleaned_data['name']}” saved.",
        redirect_to=reverse("failuremodes:touchpoints") + f"#touchpoint-{pk}",
    )


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
