"""Staff pages for segments: list, members, editor with preview, recompute now."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bounceback.errors import ServiceError
from bounceback.segments import selectors, services
from bounceback.segments.forms import (
    FIELD_CHOICES,
    OPS,
    SegmentForm,
    rule_rows,
    rules_from_post,
)
from bounceback.segments.models import Segment
from bounceback.segments.rules import rule_describe
from bounceback.web.actions import perform
from bounceback.web.forms import add_service_error

PAGE_SIZE = 50
# The rules are not one form field: a refusal about them shows over the form.
_refuse = partial(add_service_error, field_map={"rules": None})


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def segment_list(request: HttpRequest) -> HttpResponse:
    segments = list(selectors.segments_with_counts())
    for segment in segments:
        segment.rules_described = [rule_describe(rule) for rule in segment.rules]  # type: ignore[attr-defined]
    return render(request, "segments/list.html", {"segments": segments})


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    page = Paginator(selectors.segment_members(segment), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "segments/detail.html",
        {
            "segment": segment,
            "rules": [rule_describe(rule) for rule in segment.rules],
            "page_obj": page,
            "members": page.object_list,
        },
    )


def _editor(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    initial: dict[str, Any] = {}
    rules: Any = []
    if segment is not None:
        initial = {
            name: getattr(segment, name)
            for name in (
                "name",
                "slug",
                "description",
                "priority",
                "active",
                "minimum_severity",
                "timer_percent",
                "senior_handling",
                "guidance",
                "compensation_tier",
            )
        }
        rules = segment.rules
    form = SegmentForm(request.POST or None, initial=initial)
    preview: int | None = None
    if request.method == "POST":
        rules = rules_from_post(request.POST)

    def page() -> HttpResponse:
        advanced = isinstance(rules, str)
        return render(
            request,
            "segments/edit.html",
            {
                "form": form,
                "segment": segment,
                "rows": rule_rows([] if advanced else rules),
                "field_choices": FIELD_CHOICES,
                "ops": OPS,
                "preview": preview,
            },
        )

    if request.method == "POST" and request.POST.get("action") == "preview":
        if form.is_valid():
            try:
                preview = selectors.segment_preview_count(rules)
            except ServiceError as exc:
                _refuse(form, exc)
        return page()

    def save(_: dict[str, Any]) -> Segment:
        if segment is None:
            return services.segment_create(
                actor=request.user, request=request, rules=rules, **form.service_values()
            )
        services.segment_update(
            segment=segment,
            actor=request.user,
            request=request,
            rules=rules,
            **form.service_values(),
        )
        return segment

    done = "created" if segment is None else "saved"
    return perform(
        request,
        save,
        form=form,
        refuse=_refuse,
        page=page,
        success=lambda saved: f"Segment {saved.name} was {done}.",
        redirect_to=lambda saved: reverse("segments:detail", args=[saved.pk]),
    )


@permission_required("segments.add_segment", raise_exception=True)
def segment_new(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@permission_required("segments.change_segment", raise_exception=True)
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_object_or_404(Segment, pk=pk))


@require_POST
@permission_required("segments.change_segment", raise_exception=True)
def segment_recompute(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk) if pk is not None else None
    counts = services.segment_recompute_now(actor=request.user, segment=segment)
    messages.success(
        request,
        f"Recomputed {counts.segments} segment{'s' if counts.segments != 1 else ''}: "
        f"{counts.joined} joined, {counts.left} left.",
    )
    return redirect("segments:detail", pk=pk) if pk is not None else redirect("segments:list")
