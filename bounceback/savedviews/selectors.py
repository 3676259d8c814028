from __future__ import annotations

from django.db.models import QuerySet

from bounceback.accounts.models import User
from bounceback.savedviews.models import SavedView


def saved_views_of(user: object) -> QuerySet[SavedView]:
    """The person's own views by name; none for anyone not signed in."""
    if not isinstance(user, User):
        return SavedView.objects.none()
    return SavedView.objects.filter(owner=user).order_by("name", "id")
