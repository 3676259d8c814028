from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class SavedView(models.Model):
    """An inbox view a member of staff keeps under a name: the query string's values
    (`cases.inbox.InboxQuery.to_params`), so it opens exactly as a shared link does."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=80)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner", "name", "id"]
        constraints = [
            models.UniqueConstraint("owner", Lower("name"), name="saved_view_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        from django.urls import reverse
        from django.utils.http import urlencode

        query = urlencode(self.params)
        return reverse("cases:inbox") + (f"?{query}" if query else "")
