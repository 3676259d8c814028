"""Reads about staff accounts."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from bounceback.accounts.models import FailedLogin, User
from bounceback.audit.services import client_ip

# An address someone signed in to an account from within this long is theirs:
# failures from elsewhere do not slow them down there.
KNOWN_ADDRESS_DAYS = 90


def login_address_known(*, username: str, ip: str | None, now: datetime) -> bool:
    """Whether `username` signed in successfully from `ip` lately (the audit log says)."""
    from bounceback.audit.models import AuditEvent

    if not ip:
        return False
    return AuditEvent.objects.filter(
        action=AuditEvent.Action.LOGIN,
        actor__username__iexact=username,
        ip_address=ip,
        at__gte=now - timedelta(days=KNOWN_ADDRESS_DAYS),
    ).exists()


def login_account_delay(failures: int) -> timedelta:
    """The pause an account's `failures` (from every address, in the window) impose:
    none below the limit, then 2 s doubling with each failure, at most
    LOGIN_DELAY_MAX_SECONDS."""
    over = failures - settings.LOGIN_FAILURE_LIMIT
    if over < 0:
        return timedelta(0)
    return timedelta(seconds=min(2 ** min(over + 1, 30), settings.LOGIN_DELAY_MAX_SECONDS))


def login_retry_after(*, username: str, request: HttpRequest | None) -> timedelta:
    """How long until this sign-in may be tried (zero when it may be tried now).

    Three limits, so that nobody can lock someone else out:
    - this account from this address: LOGIN_FAILURE_LIMIT failures in the
      window lock the pair until the oldest of them leaves it;
    - this address over every account: 4x the limit (password spraying);
    - this account from every address: past the limit, each attempt waits a
      growing delay after the last failure (never a lock), and an address the
      owner signed in from lately is not slowed at all.
    """
    now = timezone.now()
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = FailedLogin.objects.filter(at__gte=now - window).order_by("-at")
    limit = settings.LOGIN_FAILURE_LIMIT
    account = recent.filter(username__iexact=username)
    ip = client_ip(request)
    waits = [timedelta(0)]
    pair = account.filter(ip_address=ip) if ip else account.filter(ip_address__isnull=True)
    by_pair = list(pair.values_list("at", flat=True)[:limit])
    if len(by_pair) >= limit:
        waits.append(by_pair[-1] + window - now)
    if ip:
        ip_limit = limit * 4
        by_ip = list(recent.filter(ip_address=ip).values_list("at", flat=True)[:ip_limit])
        if len(by_ip) >= ip_limit:
            waits.append(by_ip[-1] + window - now)
    failures = account.count()
    if failures >= limit and not login_address_known(username=username, ip=ip, now=now):
        last = account.values_list("at", flat=True).first()
        if last is not None:
            waits.append(last + login_account_delay(failures) - now)
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
