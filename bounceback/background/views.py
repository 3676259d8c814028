"""Failed deliveries: messages and webhook events that gave up, and "try again now"."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from bounceback.background.deliveries import lanes
from bounceback.background.selectors import failed_deliveries
from bounceback.web.actions import perform

RETRY = "outbox.change_outboundmessage"


@require_GET
@permission_required(RETRY, raise_exception=True)
def failed_list(request: HttpRequest) -> HttpResponse:
    return render(request, "background/failed.html", {"lanes": failed_deliveries()})


@require_POST
@permission_required(RETRY, raise_exception=True)
def failed_retry(request: HttpRequest, lane: str, pk: int) -> HttpResponse:
    found = {each.name: each for each in lanes()}.get(lane)
    if found is None:
        raise Http404("No such kind of delivery")
    return perform(
        request,
        lambda: found.retry(pk=pk, actor=request.user),
        sentence=True,
        success="Queued to be sent again now.",
        redirect_to="background:failed",
    )
