"""The drill pages: the library (scenarios, drills, set one up), a drill as it runs
(injects, checklist, scribe's log, what the sandbox kept), its debrief (scores,
ratings, timeline, coaching, improvement plan), a scenario's editor and coverage.

Every write is a POST calling one service; a refusal comes back flashed or on the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bounceback.drills import selectors, services
from bounceback.drills.forms import (
    AdjustForm,
    CancelForm,
    DrillCreateForm,
    ImprovementForm,
    InjectFormSet,
    LogForm,
    ScenarioForm,
    ScheduleForm,
)
from bounceback.drills.models import (
    Drill,
    DrillAction,
    DrillParticipant,
    DrillSchedule,
    DrillScore,
    ImprovementItem,
    Objective,
    Scenario,
)
from bounceback.errors import ServiceError
from bounceback.web.actions import perform

VIEW = "drills.view_drill"
TAKE_PART = "drills.add_drilllogentry"


def _drill(pk: int) -> Drill:
    drill = selectors.drill_detail(pk)
    if drill is None:
        raise Http404("no such drill")
    return drill


@require_GET
@permission_required(VIEW, raise_exception=True)
def library(request: HttpRequest) -> HttpResponse:
    drills = list(selectors.drills_list()[:50])
    return render(
        request,
        "drills/library.html",
        {
            "scenarios": selectors.scenario_library(),
            "running": [d for d in drills if d.state == Drill.State.RUNNING],
            "scheduled": [d for d in drills if d.state == Drill.State.SCHEDULED],
            "past": [d for d in drills if d.state in (Drill.State.ENDED, Drill.State.CANCELLED)],
            "can_manage": request.user.has_perm(services.MANAGE),
            "can_run": request.user.has_perm(services.RUN),
        },
    )


@require_POST
@permission_required(services.MANAGE, raise_exception=True)
def generate(request: HttpRequest) -> HttpResponse:
    return perform(
        request,
        lambda: services.drills_library_generate(actor=request.user),
        success=lambda made: (
            f"{len(made)} scenario{'s' if len(made) != 1 else ''} written from the catalog."
            if made
            else "Every high-risk failure mode's playbook has a scenario already."
        ),
        redirect_to=reverse("drills:library"),
    )


def _render_new(request: HttpRequest, form: DrillCreateForm, status: int = 200) -> HttpResponse:
    return render(request, "drills/new.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(services.MANAGE, raise_exception=True)
def new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        initial: dict[str, Any] = {}
        scenario_id = request.GET.get("scenario", "")
        if scenario_id.isdigit():
            initial["scenario"] = int(scenario_id)
        return _render_new(request, DrillCreateForm(initial=initial))
    form = DrillCreateForm(request.POST)

    def call(data: dict[str, Any]) -> Drill:
        people = [
            services.ParticipantInput(user=u, role=DrillParticipant.Role.RESPONDER)
            for u in data["responders"]
        ]
        scribe = data.get("scribe")
        if scribe is not None and scribe not in data["responders"]:
            people.append(services.ParticipantInput(user=scribe, role="scribe"))
        drill = services.drill_create(
            actor=request.user,
            scenario=data["scenario"],
            mode=data["mode"],
            title=data.get("title", ""),
            team=data.get("team"),
            participants=people,
        )
        if data.get("start_now"):
            drill = services.drill_start(drill=drill, actor=request.user)
        return drill

    return perform(
        request,
        call,
        form=form,
        page=lambda: _render_new(request, form, status=422),
        success=lambda d: "Drill started." if d.is_running else "Drill set up.",
        redirect_to=lambda d: reverse("drills:detail", args=[d.pk]),
    )


def _detail_context(request: HttpRequest, drill: Drill) -> dict[str, Any]:
    user = request.user
    return {
        "drill": drill,
        "injects": list(drill.injects.all()),
        "captured": list(selectors.drill_captured(drill)[:100]),
        "sent_outside": selectors.drill_sent_outside(drill),
        "can_run": user.has_perm(services.RUN),
        "takes_part": user.has_perm(services.RUN)
        or any(p.user_id == user.pk for p in drill.participants.all()),
        "log_form": LogForm(),
        "cancel_form": CancelForm(),
        "now": timezone.now(),
    }


@require_GET
@permission_required(VIEW, raise_exception=True)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    drill = _drill(pk)
    context = _detail_context(request, drill)
    if request.headers.get("HX-Request") and request.GET.get("part") == "status":
        return render(request, "drills/_status.html", context)
    return render(request, "drills/detail.html", context)


def _button(request: HttpRequest, pk: int, call: Any, success: str) -> HttpResponse:
    return perform(
        request,
        call,
        success=success,
        redirect_to=reverse("drills:detail", args=[pk]),
        sentence=True,
    )


@require_POST
@permission_required(services.RUN, raise_exception=True)
def start(request: HttpRequest, pk: int) -> HttpResponse:
    drill = _drill(pk)
    return _button(
        request, pk, lambda: services.drill_start(drill=drill, actor=request.user), "Started."
    )


@require_POST
@permission_required(services.RUN, raise_exception=True)
def step(request: HttpRequest, pk: int) -> HttpResponse:
    drill = _drill(pk)
    return _button(
        request,
        pk,
        lambda: services.drill_step(drill=drill, actor=request.user),
        "The next inject is in.",
    )


@require_POST
@permission_required(services.RUN, raise_exception=True)
def end(request: HttpRequest, pk: int) -> HttpResponse:
    drill = _drill(pk)
    try:
        services.drill_end(drill=drill, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("drills:detail", pk=pk)
    messages.success(request, "Drill ended: here is its debrief.")
    return redirect("drills:debrief", pk=pk)


@require_POST
@permission_required(services.RUN, raise_exception=True)
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    drill = _drill(pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the drill is called off.")
        return redirect("drills:detail", pk=pk)
    return _button(
        request,
        pk,
        lambda: services.drill_cancel(
            drill=drill, actor=request.user, reason=form.cleaned_data["reason"]
        ),
        "Drill called off.",
    )


@require_POST
@permission_required(TAKE_PART, raise_exception=True)
def log(request: HttpRequest, pk: int) -> HttpResponse:
    drill = _drill(pk)
    form = LogForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write the decision first.")
        return redirect("drills:detail", pk=pk)
    return _button(
        request,
        pk,
        lambda: services.drill_log_add(
            drill=drill,
            actor=request.user,
            text=form.cleaned_data["text"],
            kind=form.cleaned_data["kind"],
        ),
        "Logged.",
    )


@require_POST
@permission_required(TAKE_PART, raise_exception=True)
def action_done(request: HttpRequest, pk: int, action_id: int) -> HttpResponse:
    action = get_object_or_404(DrillAction, pk=action_id, drill_id=pk)
    return _button(
        request,
        pk,
        lambda: services.drill_action_done(action=action, actor=request.user),
        f"Done: {action.title}.",
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def debrief(request: HttpRequest, pk: int) -> HttpResponse:
    drill = _drill(pk)
    if drill.state != Drill.State.ENDED:
        messages.info(request, "The debrief is written when the drill ends.")
        return redirect("drills:detail", pk=pk)
    points = selectors.readiness_trend(playbook=drill.playbook, days=90)
    return render(
        request,
        "drills/debrief.html",
        {
            "drill": drill,
            "table": selectors.score_table(drill),
            "objectives": Objective.choices,
            "timeline": selectors.debrief_timeline(drill),
            "data": drill.debrief,
            "improvement_form": ImprovementForm(),
            "adjust_form": AdjustForm(),
            "can_run": request.user.has_perm(services.RUN),
            "chart": selectors.readiness_chart(points, title=f"Readiness: {drill.playbook.name}"),
            "captured": selectors.drill_captured(drill).count(),
            "sent_outside": selectors.drill_sent_outside(drill),
        },
    )


@require_POST
@permission_required(services.RUN, raise_exception=True)
def adjust(request: HttpRequest, pk: int, score_id: int) -> HttpResponse:
    score = get_object_or_404(DrillScore, pk=score_id, drill_id=pk)
    form = AdjustForm(request.POST)
    back = reverse("drills:debrief", args=[pk])
    if not form.is_valid():
        messages.error(request, "Choose a rating and give the reason.")
        return redirect(back)
    return perform(
        request,
        lambda: services.drill_score_adjust(
            score=score,
            actor=request.user,
            rating=form.cleaned_data["rating"],
            reason=form.cleaned_data["reason"],
        ),
        success="Rating adjusted; the reason is kept.",
        redirect_to=back,
        sentence=True,
    )


@require_POST
@permission_required(services.RUN, raise_exception=True)
def improvement(request: HttpRequest, pk: int) -> HttpResponse:
    drill = _drill(pk)
    form = ImprovementForm(request.POST)
    back = reverse("drills:debrief", args=[pk])
    if not form.is_valid():
        messages.error(request, "Say what to improve.")
        return redirect(back)
    data = form.cleaned_data
    return perform(
        request,
        lambda: services.improvement_add(
            drill=drill,
            actor=request.user,
            text=data["text"],
            kind=data["kind"],
            owner=data.get("owner"),
            due_on=data.get("due_on"),
        ),
        success="Added to the improvement plan.",
        redirect_to=back,
        sentence=True,
    )


@require_POST
@permission_required(services.RUN, raise_exception=True)
def improvement_apply(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    item = get_object_or_404(ImprovementItem, pk=item_id, drill_id=pk)
    labels = {
        ImprovementItem.Kind.PLAYBOOK_REVISION: "The playbook has a new version.",
        ImprovementItem.Kind.FAILURE_MODE: "Proposed to the failure-mode catalog.",
        ImprovementItem.Kind.TRAINING: "Marked done.",
    }
    return perform(
        request,
        lambda: services.improvement_apply(item=item, actor=request.user),
        success=labels[ImprovementItem.Kind(item.kind)],
        redirect_to=reverse("drills:debrief", args=[pk]),
        sentence=True,
    )


def _render_scenario(
    request: HttpRequest,
    scenario: Scenario,
    form: ScenarioForm,
    injects: Any,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "drills/scenario.html",
        {"scenario": scenario, "form": form, "injects": injects},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@permission_required(services.MANAGE, raise_exception=True)
def scenario_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = get_object_or_404(Scenario.objects.select_related("playbook"), pk=pk)
    if request.method == "GET":
        form = ScenarioForm(initial={"title": scenario.title, "description": scenario.description})
        injects = InjectFormSet(
            prefix="injects",
            initial=[
                {
                    name: getattr(row, name)
                    for name in (
                        "offset_minutes",
                        "persona",
                        "customer_name",
                        "channel",
                        "language",
                        "summary",
                        "message",
                        "expected_response",
                        "acknowledge_minutes",
                        "apologise_minutes",
                    )
                }
                for row in scenario.injects.all()
            ],
        )
        return _render_scenario(request, scenario, form, injects)
    form = ScenarioForm(request.POST)
    injects = InjectFormSet(request.POST, prefix="injects")
    if not (form.is_valid() and injects.is_valid()):
        return _render_scenario(request, scenario, form, injects, status=422)
    kept = [
        f.as_input()
        for f in injects.forms
        if f.has_changed() and f.cleaned_data and not f.cleaned_data.get("DELETE")
    ]
    return perform(
        request,
        lambda _: services.scenario_update(
            scenario=scenario,
            actor=request.user,
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            injects=kept,
        ),
        form=form,
        page=lambda: _render_scenario(request, scenario, form, injects, status=422),
        success="Scenario saved.",
        redirect_to=reverse("drills:library"),
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def coverage(request: HttpRequest) -> HttpResponse:
    points = selectors.readiness_trend(days=90)
    return render(
        request,
        "drills/coverage.html",
        {
            "rows": selectors.coverage(),
            "chart": selectors.readiness_chart(points, title="Readiness across every playbook"),
            "schedules": DrillSchedule.objects.select_related("playbook", "team").order_by(
                "next_at"
            ),
            "schedule_form": ScheduleForm(),
            "can_manage": request.user.has_perm(services.MANAGE),
            "stale_days": selectors.STALE_DAYS,
        },
    )


@require_POST
@permission_required(services.MANAGE, raise_exception=True)
def schedule(request: HttpRequest) -> HttpResponse:
    form = ScheduleForm(request.POST)
    back = reverse("drills:coverage")
    if not form.is_valid():
        messages.error(request, "Choose a playbook, how often and the first drill's time.")
        return redirect(back)
    data = form.cleaned_data
    return perform(
        request,
        lambda: services.drill_schedule_create(
            actor=request.user,
            playbook=data["playbook"],
            every_days=data["every_days"],
            next_at=data["next_at"],
        ),
        success="Scheduled.",
        redirect_to=back,
        sentence=True,
    )


@require_POST
@permission_required(services.MANAGE, raise_exception=True)
def schedule_high_risk(request: HttpRequest) -> HttpResponse:
    return perform(
        request,
        lambda: services.drill_schedules_ensure_high_risk(actor=request.user),
        success=lambda made: f"{len(made)} high-risk playbook(s) now drilled monthly.",
        redirect_to=reverse("drills:coverage"),
    )
