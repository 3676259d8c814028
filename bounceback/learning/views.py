"""Staff pages of the learning app (thin: selectors and services do the work)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from bounceback.cases.models import Case
from bounceback.cases.services import case_merge, case_split
from bounceback.learning import charts, selectors, services
from bounceback.learning.forms import ProblemForm, ThemeMergeForm, ThemeProposeForm, ThemeRenameForm
from bounceback.learning.models import Problem, Theme
from bounceback.learning.selectors import ThemeTrend, similar_cases
from bounceback.web.actions import perform

VIEW_CASES = "cases.view_case"


@require_GET
@permission_required(VIEW_CASES, raise_exception=True)
def similar(request: HttpRequest, pk: int) -> HttpResponse:
    """The case page's "what worked before" panel, loaded after the page (htmx)."""
    case = get_object_or_404(Case, pk=pk)
    return render(
        request, "learning/_similar.html", {"case": case, "similar": similar_cases(case=case)}
    )


@require_GET
@permission_required(VIEW_CASES, raise_exception=True)
def duplicates(request: HttpRequest, pk: int) -> HttpResponse:
    """The case page's duplicate warning, loaded after the page (htmx)."""
    case = get_object_or_404(Case.objects.select_related("merged_into"), pk=pk)
    found = selectors.duplicate_candidates(case=case)
    can_change = request.user.has_perm("cases.change_case")
    known = selectors.problems_for_case(case=case) if case.is_open else []
    return render(
        request,
        "learning/_duplicates.html",
        {"case": case, "duplicates": found, "can_change": can_change, "problems": known},
    )


@require_POST
@permission_required("cases.change_case", raise_exception=True)
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(Case, pk=pk)
    into = get_object_or_404(Case, pk=request.POST.get("into", "0") or "0")
    tell = request.POST.get("tell_customer") == "on"
    return perform(
        request,
        lambda: case_merge(case=case, into=into, actor=request.user, tell_customer=tell),
        sentence=True,
        success=f"{case.reference} merged into {into.reference}.",
        redirect_to=reverse("cases:detail", args=[into.pk]),
    )


@require_POST
@permission_required("cases.change_case", raise_exception=True)
def split(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(Case, pk=pk)
    return perform(
        request,
        lambda: case_split(case=case, actor=request.user),
        sentence=True,
        success=f"{case.reference} split back out.",
        redirect_to=reverse("cases:detail", args=[pk]),
    )


# --- Themes ---------------------------------------------------------------------------------

VIEW_THEMES = "learning.view_theme"
CHANGE_THEMES = "learning.change_theme"


def _weeks_chart(theme: Theme) -> tuple[SafeString, ThemeTrend]:
    trend = selectors.theme_trend(theme=theme)
    items = [
        charts.Bar(
            label=week.strftime("%-d %b") if i % 2 == 0 else "",
            value=n,
            title=f"Week of {week:%-d %b}: {n} case{'s' if n != 1 else ''}",
        )
        for i, (week, n) in enumerate(trend.weeks)
    ]
    return charts.bars(items, title=f"Cases of “{theme.title}” per week, last 12 weeks"), trend


@require_GET
@permission_required(VIEW_THEMES, raise_exception=True)
def theme_list(request: HttpRequest) -> HttpResponse:
    themes = list(Theme.objects.active())
    return render(request, "learning/themes.html", {"themes": themes})


def render_theme(request: HttpRequest, pk: int, **forms_given: Any) -> HttpResponse:
    theme = get_object_or_404(Theme.objects.select_related("merged_into", "proposal"), pk=pk)
    chart, trend = _weeks_chart(theme)
    context = {
        "theme": theme,
        "chart": chart,
        "trend": trend,
        "representatives": selectors.theme_representatives(theme=theme),
        "cases": selectors.theme_cases(theme=theme)[:50],
        "can_change": request.user.has_perm(CHANGE_THEMES),
        "rename_form": forms_given.get("rename_form")
        or ThemeRenameForm(initial={"name": theme.name}),
        "merge_form": forms_given.get("merge_form") or _merge_form(theme),
        "propose_form": forms_given.get("propose_form") or ThemeProposeForm(),
    }
    return render(request, "learning/theme.html", context)


def _merge_form(theme: Theme, data: Any = None) -> ThemeMergeForm:
    form = ThemeMergeForm(data)
    form.fields["into"].queryset = Theme.objects.active().exclude(pk=theme.pk)  # type: ignore[attr-defined]
    return form


@require_GET
@permission_required(VIEW_THEMES, raise_exception=True)
def theme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_theme(request, pk)


@require_POST
@permission_required(CHANGE_THEMES, raise_exception=True)
def theme_rename(request: HttpRequest, pk: int) -> HttpResponse:
    theme = get_object_or_404(Theme, pk=pk)
    form = ThemeRenameForm(request.POST)
    return perform(
        request,
        lambda data: services.theme_rename(theme=theme, name=data["name"], actor=request.user),
        form=form,
        page=lambda: render_theme(request, pk, rename_form=form),
        success="Theme named.",
        redirect_to=reverse("learning:theme", args=[pk]),
    )


@require_POST
@permission_required(CHANGE_THEMES, raise_exception=True)
def theme_merge(request: HttpRequest, pk: int) -> HttpResponse:
    theme = get_object_or_404(Theme, pk=pk)
    form = _merge_form(theme, request.POST)
    return perform(
        request,
        lambda data: services.theme_merge(theme=theme, into=data["into"], actor=request.user),
        form=form,
        page=lambda: render_theme(request, pk, merge_form=form),
        success="Themes merged.",
        redirect_to=lambda into: reverse("learning:theme", args=[into.pk]),
    )


@require_POST
@permission_required(CHANGE_THEMES, raise_exception=True)
def theme_split(request: HttpRequest, pk: int) -> HttpResponse:
    theme = get_object_or_404(Theme, pk=pk)
    return perform(
        request,
        lambda: services.theme_split(theme=theme, actor=request.user),
        sentence=True,
        success="Theme split in two.",
        redirect_to=reverse("learning:themes"),
    )


@require_POST
@permission_required("failuremodes.add_failuremode", raise_exception=True)
def theme_propose(request: HttpRequest, pk: int) -> HttpResponse:
    theme = get_object_or_404(Theme, pk=pk)
    form = ThemeProposeForm(request.POST)
    return perform(
        request,
        lambda data: services.theme_propose_failure_mode(
            theme=theme, touchpoint=data["touchpoint"], title=data["title"], actor=request.user
        ),
        form=form,
        page=lambda: render_theme(request, pk, propose_form=form),
        success="Proposed for the failure-mode catalog; it waits for votes.",
        redirect_to=lambda mode: reverse("failuremodes:detail", args=[mode.pk]),
    )


# --- Problems and trends ----------------------------------------------------------------------

VIEW_PROBLEMS = "learning.view_problem"
CHANGE_PROBLEMS = "learning.change_problem"


def before_after_chart(problem: Problem, now: datetime | None = None) -> SafeString | None:
    """Matching cases per 1,000 transactions each week, before and after the action."""
    if problem.action_done_at is None:
        return None
    now = now or timezone.now()
    done = problem.action_done_at
    span = min(max(now - done, timedelta(days=7)), services.CHECK_WINDOW)
    weeks = selectors.weekly_rates(problem=problem, start=done - span, end=done + span)
    items = []
    marker = None
    for i, (start, n, volume) in enumerate(weeks):
        after = start >= done
        if after and marker is None:
            marker = i
        rate = 1000 * n / volume if volume else 0.0
        items.append(
            charts.Bar(
                label=start.strftime("%-d %b") if i % 2 == 0 else "",
                value=rate,
                tone="after" if after else "before",
                title=(
                    f"Week of {start:%-d %b}: {n} case{'s' if n != 1 else ''}, "
                    f"{volume} transactions, {rate:.1f} per 1,000"
                    + (" (after the action)" if after else " (before the action)")
                ),
            )
        )
    return charts.bars(
        items,
        title=f"{problem.title}: cases per 1,000 transactions, weekly, before and after the action",
        marker=marker,
        marker_label="action",
    )


@require_GET
@permission_required(VIEW_PROBLEMS, raise_exception=True)
def problem_list(request: HttpRequest) -> HttpResponse:
    problems = Problem.objects.select_related("theme", "failure_mode", "action_owner")
    return render(request, "learning/problems.html", {"problems": problems[:200]})


def render_problem(request: HttpRequest, pk: int, form: ProblemForm | None = None) -> HttpResponse:
    problem = get_object_or_404(
        Problem.objects.select_related("theme", "failure_mode", "action_owner"), pk=pk
    )
    if form is None:
        form = ProblemForm(
            initial={
                "title": problem.title,
                "root_cause": problem.root_cause,
                "corrective_action": problem.corrective_action,
                "action_owner": problem.action_owner,
                "action_due": problem.action_due,
                "workaround": problem.workaround,
            }
        )
    cases = (
        selectors.problem_cases(problem=problem).select_related("customer").order_by("-created_at")
    )
    context = {
        "problem": problem,
        "form": form,
        "chart": before_after_chart(problem),
        "check": problem.last_check,
        "cases": cases[:50],
        "case_count": cases.count(),
        "can_change": request.user.has_perm(CHANGE_PROBLEMS),
    }
    return render(request, "learning/problem.html", context)


@require_GET
@permission_required(VIEW_PROBLEMS, raise_exception=True)
def problem_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_problem(request, pk)


@require_POST
@permission_required("learning.add_problem", raise_exception=True)
def problem_from_theme(request: HttpRequest, pk: int) -> HttpResponse:
    theme = get_object_or_404(Theme, pk=pk)
    made: list[Problem] = []
    answer = perform(
        request,
        lambda: made.append(services.problem_from_theme(theme=theme, actor=request.user)),
        sentence=True,
        success="Problem record opened from the theme.",
        redirect_to=reverse("learning:theme", args=[pk]),
    )
    return redirect("learning:problem", made[0].pk) if made else answer


@require_POST
@permission_required(CHANGE_PROBLEMS, raise_exception=True)
def problem_edit(request: HttpRequest, pk: int) -> HttpResponse:
    problem = get_object_or_404(Problem, pk=pk)
    form = ProblemForm(request.POST)

    def save(data: dict[str, Any]) -> Problem:
        return services.problem_update(
            problem=problem,
            actor=request.user,
            action_owner=data["action_owner"],
            action_due=data["action_due"],
            title=data["title"],
            root_cause=data["root_cause"],
            corrective_action=data["corrective_action"],
            workaround=data["workaround"],
        )

    return perform(
        request,
        save,
        form=form,
        page=lambda: render_problem(request, pk, form=form),
        success="Problem record saved.",
        redirect_to=reverse("learning:problem", args=[pk]),
    )


@require_POST
@permission_required(CHANGE_PROBLEMS, raise_exception=True)
def problem_done(request: HttpRequest, pk: int) -> HttpResponse:
    problem = get_object_or_404(Problem, pk=pk)
    return perform(
        request,
        lambda: services.problem_action_done(problem=problem, actor=request.user),
        sentence=True,
        success="Corrective action in place: the rate of new cases is watched from now.",
        redirect_to=reverse("learning:problem", args=[pk]),
    )


@require_POST
@permission_required(CHANGE_PROBLEMS, raise_exception=True)
def problem_verify(request: HttpRequest, pk: int) -> HttpResponse:
    problem = get_object_or_404(Problem, pk=pk)
    return perform(
        request,
        lambda: services.problem_verify(problem=problem),
        sentence=True,
        success="Recurrence checked.",
        redirect_to=reverse("learning:problem", args=[pk]),
    )


@require_GET
@permission_required(VIEW_PROBLEMS, raise_exception=True)
def trends(request: HttpRequest) -> HttpResponse:
    by = request.GET.get("by", "failure_mode")
    if by not in selectors.PARETO_BY:
        by = "failure_mode"
    try:
        days = min(max(int(request.GET.get("days", "30")), 1), 366)
    except ValueError:
        days = 30
    rows = selectors.pareto(by=by, days=days)
    current = [r for r in rows if r.cases][:15]
    chart = charts.bars(
        [
            charts.Bar(
                label=r.key[:10],
                value=r.cases,
                title=f"{r.key}: {r.cases} cases ({r.previous} the period before), "
                f"{r.cumulative:.0%} cumulative",
            )
            for r in current
        ],
        title=f"Cases of the last {days} days by {by.replace('_', ' ')}, largest first",
    )
    return render(
        request,
        "learning/trends.html",
        {
            "rows": rows,
            "chart": chart,
            "by": by,
            "days": days,
            "choices": list(selectors.PARETO_BY),
        },
    )
