from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from bounceback.web.selectors import dashboard_summary


def home(request: HttpRequest) -> HttpResponse:
    """The landing dashboard: this week's numbers, recent interactions, a quick search."""
    return render(request, "web/home.html", {"dashboard": dashboard_summary()})


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: answers 200 when this node can reach the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
