from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from bounceback.notifications.models import Notification


def notify(
    *, recipients: Iterable[Any], kind: str, title: str, body: str = "", url: str = ""
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


def notifications_mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    rows = Notification.objects.filter(recipient=user).unread()
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
