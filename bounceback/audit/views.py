from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bounceback.audit.forms import AuditFilterForm
from bounceback.audit.selectors import audit_event_list

PAGE_SIZE = 50


@require_GET
@permission_required("audit.view_auditevent", raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = audit_event_list(action=filters.get("action", ""), text=filters.get("q", ""))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = bool(filters.get("action") or filters.get("q"))
    return render(
        request,
        "audit/list.html",
        {"form": form, "page_obj": page, "events": page.object_list, "filtered": filtered},
    )
