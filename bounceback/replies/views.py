"""The canned replies pages: the list, the editor with the coach's findings, and the
text filled in for one case (what the compose box inserts)."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bounceback.cases.models import Case
from bounceback.replies import services
from bounceback.replies.forms import CannedReplyForm
from bounceback.replies.models import CannedReply
from bounceback.replies.templating import case_values, reply_render
from bounceback.web.actions import perform

VIEW = "replies.view_cannedreply"
ADD = "replies.add_cannedreply"
CHANGE = "replies.change_cannedreply"


@require_GET
@permission_required(VIEW, raise_exception=True)
def reply_list(request: HttpRequest) -> HttpResponse:
    show_archived = request.GET.get("archived") == "1"
    rows = CannedReply.objects.all() if show_archived else CannedReply.objects.active()
    return render(
        request,
        "replies/list.html",
        {
            "replies": list(rows),
            "show_archived": show_archived,
            "can_add": request.user.has_perm(ADD),
        },
    )


def _edit_url(reply: CannedReply) -> str:
    return reverse("replies:edit", args=[reply.pk])


@permission_required(ADD, raise_exception=True)
def reply_create(request: HttpRequest) -> HttpResponse:
    form = CannedReplyForm(request.POST or None, initial={"purpose": "apology"})
    return perform(
        request,
        lambda data: services.canned_reply_create(actor=request.user, **data),
        form=form,
        page=lambda: render(request, "replies/edit.html", {"form": form, "reply": None}),
        success=lambda reply: _saved(reply),
        redirect_to=_edit_url,
    )


@permission_required(VIEW, raise_exception=True)
def reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Read a reply with the coach's findings; those who may change it edit it here."""
    reply = get_object_or_404(CannedReply, pk=pk)
    can_change = request.user.has_perm(CHANGE)
    posted = request.method == "POST" and can_change
    initial = {"title": reply.title, "purpose": reply.purpose, "body": reply.body}
    form = CannedReplyForm(request.POST if posted else None, initial=initial)

    def page() -> HttpResponse:
        return render(
            request, "replies/edit.html", {"form": form, "reply": reply, "can_change": can_change}
        )

    if not posted:
        return page()
    return perform(
        request,
        lambda data: services.canned_reply_update(reply=reply, actor=request.user, **data),
        form=form,
        page=page,
        success=lambda saved: _saved(saved),
        redirect_to=_edit_url,
    )


def _saved(reply: CannedReply) -> str:
    if reply.purpose != CannedReply.Purpose.APOLOGY:
        n = len(reply.coach_findings)
        if not n:
            return f"Saved “{reply.title}”. The coach found nothing in its phrasing to change."
        return (
            f"Saved “{reply.title}”. The coach would change {n} thing{'s' if n != 1 else ''} "
            "in its phrasing: see below."
        )
    if reply.coach_score is None:
        return f"Saved “{reply.title}”. The coach could not score its language."
    if reply.below_bar:
        return (
            f"Saved “{reply.title}”, but the coach scores it {reply.coach_score}, below the "
            f"bar of {reply.coach_threshold}: see its findings below."
        )
    return f"Saved “{reply.title}”. The coach scores it {reply.coach_score}."


@require_POST
@permission_required(CHANGE, raise_exception=True)
def reply_archive(request: HttpRequest, pk: int) -> HttpResponse:
    reply = get_object_or_404(CannedReply, pk=pk)
    archived = request.POST.get("archived", "1") == "1"
    return perform(
        request,
        lambda: services.canned_reply_archive(reply=reply, actor=request.user, archived=archived),
        success=(
            f"“{reply.title}” is archived." if archived else f"“{reply.title}” is back in use."
        ),
        redirect_to=reverse("replies:list"),
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def reply_for_case(request: HttpRequest, pk: int, case_pk: int) -> JsonResponse:
    """The reply's text filled in for this case and the person asking (the compose box)."""
    if not request.user.has_perm("cases.view_case"):
        return JsonResponse({"detail": "You may not read cases."}, status=403)
    reply = get_object_or_404(CannedReply, pk=pk)
    case = get_object_or_404(Case.objects.select_related("customer", "site"), pk=case_pk)
    body = reply_render(reply.body, case_values(case, request.user))  # type: ignore[arg-type]
    return JsonResponse({"id": reply.pk, "title": reply.title, "body": body})
