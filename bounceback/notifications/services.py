from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

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


def notifications_mark_read(*, user: User | AnonymousUser, ids: Iterable[int] | None = None) -> int:
    """Mark the person's notifications read: all, or those in `ids`; returns how many."""
    if not isinstance(user, User):
        return 0
    rows = Notification.objects.filter(recipient=user).unread()
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
