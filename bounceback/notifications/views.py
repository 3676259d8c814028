"""The notifications page: what timers and colleagues asked this person to look at."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from bounceback.notifications.models import Notification
from bounceback.notifications.services import notifications_mark_read

PAGE_SIZE = 30
VIEW = "notifications.view_notification"


@require_GET
@permission_required(VIEW, raise_exception=True)
def notification_list(request: HttpRequest) -> HttpResponse:
    """The signed-in person's notifications, newest first; `?unread=1` shows unread only."""
    rows = Notification.objects.filter(recipient_id=request.user.pk).order_by("-created_at", "-id")
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        rows = rows.unread()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {"page_obj": page, "notifications": page.object_list, "unread_only": unread_only},
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    note = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications_mark_read(user=request.user, ids=[note.pk])
    target = note.url
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("notifications:list")


@require_POST
@permission_required(VIEW, raise_exception=True)
def notification_mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    note = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications_mark_read(user=request.user, ids=[note.pk])
    return redirect(_back(request))


@require_POST
@permission_required(VIEW, raise_exception=True)
def notifications_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_read(user=request.user)
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    """Back to the list as it was (its filter and page), never to another site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/notifications/"
