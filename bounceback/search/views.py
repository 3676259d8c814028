"""The search page: one box for references, customers' emails and phones, and words."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from bounceback.search.selectors import MAX_RESULTS, case_search
from bounceback.web.htmx import is_htmx, vary_on_htmx


@require_GET
@permission_required("cases.view_case", raise_exception=True)
def search_results(request: HttpRequest) -> HttpResponse:
    """Cases for the text in `q`; a reference that names exactly one case opens it."""
    query = request.GET.get("q", "").strip()
    hits = case_search(query=query)
    if len(hits) == 1 and hits[0].matched == "reference" and not is_htmx(request):
        return redirect("cases:detail", pk=hits[0].case.pk)
    context = {"q": query, "hits": hits, "limit": MAX_RESULTS}
    template = "search/_results.html" if is_htmx(request) else "search/results.html"
    return vary_on_htmx(render(request, template, context))
