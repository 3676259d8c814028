from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bounceback.discovery import rules as rule_services
from bounceback.discovery import selectors, services
from bounceback.discovery.forms import RuleForm
from bounceback.discovery.models import Rule, RuleFiring, SuspectedBreakdown
from bounceback.errors import ServiceError
from bounceback.playbooks.models import Playbook
from bounceback.web.actions import add_service_error, perform


@permission_required("discovery.view_discovery", raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "discovery/overview.html",
        {
            "came_in": selectors.signals_per_source_per_day(),
            "outcomes": selectors.rule_outcomes(),
            "outcome_labels": dict(RuleFiring.Outcome.choices),
            "rules": Rule.objects.order_by("position", "id"),
            "rising": selectors.rising(),
            "suspects": [
                (suspect, services.suspected_title(suspect))
                for suspect in SuspectedBreakdown.objects.exclude(
                    status=SuspectedBreakdown.Status.DISMISSED
                )[:20]
            ],
        },
    )


def _rule_page(request: HttpRequest, rule: Rule | None) -> HttpResponse:
    """The rule form (new or edit): preview on the last 30 days, or save."""
    form = RuleForm(request.POST or None, rule=rule)
    preview: Any = None

    def page() -> HttpResponse:
        return render(
            request,
            "discovery/rule_form.html",
            {
                "form": form,
                "preview": preview,
                "rule": rule,
                "outcome_labels": dict(RuleFiring.Outcome.choices),
                "versions": rule.versions.select_related("actor")[:20] if rule else [],
                "firings": (
                    rule.firings.select_related("customer")[:20] if rule is not None else []
                ),
            },
        )

    if request.method == "POST" and request.POST.get("do") == "preview":
        if form.is_valid():
            try:
                preview = rule_services.rule_preview(**form.preview_values())
            except ServiceError as exc:
                add_service_error(form, exc)
        return page()

    def save(_: dict[str, Any]) -> Rule:
        if rule is None:
            return rule_services.rule_create(actor=request.user, **form.service_values())
        return rule_services.rule_update(rule=rule, actor=request.user, **form.service_values())

    return perform(
        request,
        save,
        form=form,
        page=page,
        success=lambda saved: f"Rule {saved.name} saved (version {saved.version}).",
        redirect_to=lambda saved: reverse("discovery:overview"),
    )


@permission_required("discovery.manage_rule", raise_exception=True)
def rule_new(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, None)


@permission_required("discovery.manage_rule", raise_exception=True)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_page(request, get_object_or_404(Rule, pk=pk))


@require_POST
@permission_required("discovery.manage_rule", raise_exception=True)
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk)
    return perform(
        request,
        lambda: rule_services.rule_update(rule=rule, actor=request.user, active=not rule.active),
        success=lambda saved: f"Rule {saved.name} switched {'on' if saved.active else 'off'}.",
        redirect_to=reverse("discovery:overview"),
    )


@permission_required("discovery.view_discovery", raise_exception=True)
def suspected_detail(request: HttpRequest, pk: int) -> HttpResponse:
    suspect = get_object_or_404(SuspectedBreakdown, pk=pk)
    points = suspect.evidence.get("points", [])
    also = [(d, services.value_label(d, v)) for d, v in suspect.evidence.get("also", [])]
    dimensions = {suspect.dimension, *(d for d, _ in also)}
    return render(
        request,
        "discovery/suspected.html",
        {
            "suspect": suspect,
            "title": services.suspected_title(suspect),
            "chart": _chart(points),
            "matching_cases": len(services.suspected_matching_cases(suspect)),
            "playbooks": Playbook.objects.filter(archived=False).order_by("name"),
            "suggested": services.suspected_playbook(suspect),
            "also": also,
            "has_site": "site" in dimensions,
            "has_product": "product" in dimensions,
        },
    )


def _chart(points: list[list[Any]], width: int = 560, height: int = 160) -> dict[str, Any]:
    """Bars for the counts and a line for the baseline, as SVG coordinates."""
    if not points:
        return {"bars": [], "line": "", "width": width, "height": height}
    top = max([p[1] for p in points] + [p[2] or 0 for p in points] + [1])
    slot = width / len(points)
    bars = []
    for i, (at, count, _baseline) in enumerate(points):
        h = (count / top) * (height - 20)
        bars.append(
            {
                "x": i * slot + 2,
                "y": height - h,
                "w": slot - 4,
                "h": h,
                "at": at[:16],
                "count": count,
            }
        )
    line = " ".join(
        f"{i * slot + slot / 2:.1f},{height - ((b or 0) / top) * (height - 20):.1f}"
        for i, (_, _, b) in enumerate(points)
    )
    return {"bars": bars, "line": line, "width": width, "height": height}


@require_POST
@permission_required("breakdowns.declare_breakdown", raise_exception=True)
def suspected_declare(request: HttpRequest, pk: int) -> HttpResponse:
    suspect = get_object_or_404(SuspectedBreakdown, pk=pk)
    playbook_id = request.POST.get("playbook_id") or ""
    playbook = (
        Playbook.objects.filter(pk=int(playbook_id)).first() if playbook_id.isdigit() else None
    )
    return perform(
        request,
        lambda: services.suspected_declare(suspect=suspect, actor=request.user, playbook=playbook),
        success=lambda b: f"Breakdown {b.reference} declared.",
        redirect_to=reverse("discovery:suspected", args=[pk]),
        sentence=True,
    )


@require_POST
@permission_required("discovery.manage_rule", raise_exception=True)
def suspected_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    suspect = get_object_or_404(SuspectedBreakdown, pk=pk)
    return perform(
        request,
        lambda: services.suspected_dismiss(suspect=suspect, actor=request.user),
        success="Dismissed: not a breakdown.",
        redirect_to=reverse("discovery:overview"),
    )
