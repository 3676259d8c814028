"""Reads about staff accounts."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from bounceback.accounts.models import FailedLogin, User
from bounceback.audit.services import client_ip


def login_retry_after(*, username: str, request: HttpRequest | None) -> timedelta:
    """How long until a throttled sign-in may be tried again (zero when it is not throttled).

    Mirrors services.login_is_throttled: the throttle lifts when the oldest of
    the failures that make up the limit leaves the window.
    """
    now = timezone.now()
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = FailedLogin.objects.filter(at__gte=now - window).order_by("-at")
    limit = settings.LOGIN_FAILURE_LIMIT
    waits = [timedelta(0)]
    by_user = list(recent.filter(username__iexact=username).values_list("at", flat=True)[:limit])
    if len(by_user) >= limit:
        waits.append(by_user[-1] + window - now)
    ip = client_ip(request)
    if ip:
        ip_limit = limit * 4
        by_ip = list(recent.filter(ip_address=ip).values_list("at", flat=True)[:ip_limit])
        if len(by_ip) >= ip_limit:
            waits.append(by_ip[-1] + window - now)
    return max(waits)


def staff_list() -> QuerySet[User]:
    """Every staff account with its team, for the staff page."""
    return User.objects.select_related("team").order_by("-is_active", "username")


def user_time_zone(user: object) -> str:
    """The zone a member of staff sees times in: their own choice, else their site's, else
    the installation's TIME_ZONE (README's settings table)."""
    chosen = getattr(user, "time_zone", "") or ""
    if chosen:
        return chosen
    site = getattr(user, "site", None) if getattr(user, "site_id", None) else None
    if site is not None and site.time_zone:
        return str(site.time_zone)
    return str(settings.TIME_ZONE)
