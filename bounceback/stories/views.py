"""The story pages: the library (search and tags), a story (edit, nominate, publish,
recognise, propose its prevention idea), drafting from a case, and recognition counts.

Every write is a POST calling one service; a refusal comes back flashed or on the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bounceback.cases.models import Case
from bounceback.errors import ServiceError
from bounceback.stories import selectors, services
from bounceback.stories.forms import (
    PersonRecognitionForm,
    PreventionForm,
    RecognitionForm,
    StoryFilterForm,
    StoryForm,
)
from bounceback.stories.models import Story
from bounceback.web.actions import perform

VIEW = "stories.view_story"
PER_PAGE = 25


@require_GET
@permission_required(VIEW, raise_exception=True)
def library(request: HttpRequest) -> HttpResponse:
    form = StoryFilterForm(request.GET)
    filters: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    rows = selectors.story_library(
        text=filters.get("q", ""), tag=filters.get("tag", ""), state=filters.get("state", "")
    )
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "stories/library.html",
        {"form": form, "page": page, "tags": selectors.tags_in_use(), "filters": filters},
    )


def _story(pk: int) -> Story:
    return get_object_or_404(
        Story.objects.select_related("case", "case__failure_mode", "staff", "author"), pk=pk
    )


def render_detail(
    request: HttpRequest,
    pk: int,
    *,
    edit_form: StoryForm | None = None,
    prevention_form: PreventionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    story = _story(pk)
    mode = story.case.failure_mode
    user = request.user
    context = {
        "story": story,
        "edit_form": edit_form or StoryForm.for_story(story),
        "recognise_form": RecognitionForm(),
        "prevention_form": prevention_form
        or PreventionForm(
            initial={
                "touchpoint": mode.touchpoint_id if mode else None,
                "title": story.title[:160],
                **(
                    {k: getattr(mode, k) for k in ("severity", "occurrence", "detection")}
                    if mode
                    else {}
                ),
            }
        ),
        "recognitions": story.recognitions.select_related("person", "given_by"),
        "can_edit": user.has_perm(services.CHANGE)
        and (story.state != Story.State.PUBLISHED or user.has_perm(services.PUBLISH)),
        "can_nominate": user.has_perm(services.CHANGE) and story.state == Story.State.DRAFT,
        "can_publish": user.has_perm(services.PUBLISH) and story.state != Story.State.PUBLISHED,
        "can_recognise": user.has_perm(services.RECOGNISE) and story.state != Story.State.DRAFT,
        "can_propose": user.has_perm("failuremodes.add_failuremode")
        and bool(story.prevention_idea)
        and story.proposed_failure_mode_id is None,
    }
    return render(request, "stories/detail.html", context, status=status)


@require_GET
@permission_required(VIEW, raise_exception=True)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_detail(request, pk)


@require_POST
@permission_required(services.ADD, raise_exception=True)
def draft(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_object_or_404(Case, pk=case_id)
    existing = Story.objects.filter(case=case).first()
    if existing is not None:
        messages.info(request, "This case already has a story.")
        return redirect("stories:detail", pk=existing.pk)
    try:
        story = services.story_draft_from_case(case=case, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("cases:detail", pk=case.pk)
    messages.success(request, "Story drafted. Read it through, edit and nominate it.")
    return redirect("stories:detail", pk=story.pk)


@require_POST
@permission_required(services.CHANGE, raise_exception=True)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    story = _story(pk)
    form = StoryForm(request.POST)
    return perform(
        request,
        lambda _: services.story_update(story=story, actor=request.user, **form.changes(story)),
        form=form,
        page=lambda: render_detail(request, pk, edit_form=form, status=422),
        success="Story saved.",
        redirect_to=reverse("stories:detail", args=[pk]),
    )


@require_POST
@permission_required(services.CHANGE, raise_exception=True)
def nominate(request: HttpRequest, pk: int) -> HttpResponse:
    story = _story(pk)
    return perform(
        request,
        lambda: services.story_nominate(story=story, actor=request.user),
        success="Story nominated.",
        redirect_to=reverse("stories:detail", args=[pk]),
        sentence=True,
    )


@require_POST
@permission_required(services.PUBLISH, raise_exception=True)
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    story = _story(pk)
    return perform(
        request,
        lambda: services.story_publish(story=story, actor=request.user),
        success="Story published to the library.",
        redirect_to=reverse("stories:detail", args=[pk]),
        sentence=True,
    )


@require_POST
@permission_required(services.RECOGNISE, raise_exception=True)
def recognise(request: HttpRequest, pk: int) -> HttpResponse:
    story = _story(pk)
    form = RecognitionForm(request.POST)
    back = reverse("stories:detail", args=[pk])
    if not form.is_valid():
        messages.error(request, "Choose kudos or a monthly recognition.")
        return redirect(back)
    return perform(
        request,
        lambda: services.story_recognise(
            story=story,
            actor=request.user,
            kind=form.cleaned_data["kind"],
            note=form.cleaned_data["note"],
        ),
        success=lambda r: f"{r.get_kind_display()} given to {r.person}.",
        redirect_to=back,
        sentence=True,
    )


@require_POST
@permission_required("failuremodes.add_failuremode", raise_exception=True)
def prevention(request: HttpRequest, pk: int) -> HttpResponse:
    story = _story(pk)
    form = PreventionForm(request.POST)
    return perform(
        request,
        lambda data: services.story_propose_prevention(story=story, actor=request.user, **data),
        form=form,
        page=lambda: render_detail(request, pk, prevention_form=form, status=422),
        success="The prevention idea is proposed to the catalog.",
        redirect_to=lambda mode: reverse("failuremodes:detail", args=[mode.pk]),
    )


@permission_required(VIEW, raise_exception=True)
def recognition(request: HttpRequest) -> HttpResponse:
    form = PersonRecognitionForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm(services.RECOGNISE):
            return HttpResponse(status=403)
        return perform(
            request,
            lambda data: services.story_recognise(actor=request.user, **data),
            form=form,
            page=lambda: _recognition_page(request, form, status=422),
            success=lambda r: f"{r.get_kind_display()} given to {r.person}.",
            redirect_to=reverse("stories:recognition"),
        )
    return _recognition_page(request, form)


def _recognition_page(
    request: HttpRequest, form: PersonRecognitionForm, status: int = 200
) -> HttpResponse:
    period = request.GET.get("period", "all")
    period = period if period in selectors.PERIODS else "all"
    since = selectors.period_start(period)
    return render(
        request,
        "stories/recognition.html",
        {
            "period": period,
            "periods": selectors.PERIODS.items(),
            "people": selectors.recognition_by_person(since=since),
            "teams": selectors.recognition_by_team(since=since),
            "form": form,
            "can_recognise": request.user.has_perm(services.RECOGNISE),
        },
        status=status,
    )
