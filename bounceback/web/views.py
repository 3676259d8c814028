from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from bounceback.web.selectors import dashboard_summary, role_home


def home(request: HttpRequest) -> HttpResponse:
    """The landing page: first what the person's role needs (their urgent cases; a lead's
    approvals, breaches and unassigned cases; managers' recovery figures), then the role's
    dashboard tiles (bounceback.dashboards), this week's numbers, recent interactions and a
    quick search."""
    from bounceback.dashboards.views import dashboard_context

    return render(
        request,
        "web/home.html",
        {
            "dashboard": dashboard_summary(),
            "role_home": role_home(user=request.user),
            # Issue 17: the role's dashboard tiles (charts that drill down to their cases).
            **dashboard_context(request),
        },
    )


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: answers 200 when this node can reach the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
