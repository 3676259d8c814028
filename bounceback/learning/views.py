"""Staff pages of the learning app (thin: selectors and services do the work)."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from bounceback.cases.models import Case
from bounceback.learning.selectors import similar_cases

VIEW_CASES = "cases.view_case"


@require_GET
@permission_required(VIEW_CASES, raise_exception=True)
def similar(request: HttpRequest, pk: int) -> HttpResponse:
    """The case page's "what worked before" panel, loaded after the page (htmx)."""
    case = get_object_or_404(Case, pk=pk)
    return render(
        request, "learning/_similar.html", {"case": case, "similar": similar_cases(case=case)}
    )
