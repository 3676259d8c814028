from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.notifications.models import Notification

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


def notify(
    *, recipients: Iterable[User | None], kind: str, title: str, body: str = "", url: str = ""
) -> int:
    """Tell each recipient once (duplicates in `recipients` are dropped)."""
    unique = {user.pk: user for user in recipients if user is not None and user.is_active}
    Notification.objects.bulk_create(
        [
            Notification(recipient=user, kind=kind, title=title[:200], body=body, url=url[:300])
            for user in unique.values()
        ]
    )
    return len(unique)


def notify_at(
    *,
    recipients: Iterable[User | None],
    kind: str,
    title: Callable[[str], str],
    at: datetime,
    body: str = "",
    url: str = "",
) -> int:
    """`notify` for a text that names a time: `title` gets `at` as each recipient reads
    it (their own zone, "14:20 CET"), so nobody is told a time on another clock."""
    from bounceback.accounts.selectors import user_time_zone

    by_zone: dict[str, list[User]] = {}
    for user in recipients:
        if user is not None:
            by_zone.setdefault(user_time_zone(user), []).append(user)
    told = 0
    for zone, people in by_zone.items():
        local = at.astimezone(ZoneInfo(zone))
        told += notify(
            recipients=people, kind=kind, title=title(f"{local:%H:%M %Z}"), body=body, url=url
        )
    return told


def notifications_mark_read(*, user: User | AnonymousUser, ids: Iterable[int] | None = None) -> int:
    """Mark the person's notifications read: all, or those in `ids`; returns how many."""
    if not isinstance(user, User):
        return 0
    rows = Notification.objects.filter(recipient=user).unread()
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
