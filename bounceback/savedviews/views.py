"""Saving and deleting one's inbox views from the inbox page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from bounceback.savedviews.models import SavedView
from bounceback.savedviews.services import saved_view_create, saved_view_delete
from bounceback.web.actions import perform


@require_POST
@login_required
def saved_view_save(request: HttpRequest) -> HttpResponse:
    """Keep the view the inbox showed (its query string, posted as `params`) under a
    name; back to that view either way, with the refusal flashed if any."""
    params = QueryDict(request.POST.get("params", ""), mutable=True)
    params.pop("after", None)
    back = reverse("cases:inbox") + (f"?{params.urlencode()}" if params else "")
    return perform(
        request,
        lambda: saved_view_create(
            name=request.POST.get("name", ""), params=params.dict(), actor=request.user
        ),
        success=lambda view: f"View “{view.name}” saved.",
        redirect_to=back,
        sentence=True,
    )


@require_POST
@login_required
def saved_view_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of one's own views (another person's is not found)."""
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    return perform(
        request,
        lambda: saved_view_delete(view=view, actor=request.user),
        success=f"View “{view.name}” deleted.",
        redirect_to=reverse("cases:inbox"),
    )
