"""Reads across stories, recognition, people and teams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from bounceback.stories.models import Recognition, Story


@dataclass(frozen=True)
class RecognitionCount:
    id: int | None
    name: str
    kudos: int
    monthly: int

    @property
    def total(self) -> int:
        return self.kudos + self.monthly


_KUDOS = Count("id", filter=Q(kind=Recognition.Kind.KUDOS))
_MONTHLY = Count("id", filter=Q(kind=Recognition.Kind.MONTHLY))


PERIODS = {"all": "All time", "month": "This month"}


def period_start(period: str) -> datetime | None:
    """When a counting period starts: the first of this month (local time), or never."""
    if period != "month":
        return None
    return timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _since(rows: QuerySet[Recognition], since: datetime | None) -> QuerySet[Recognition]:
    return rows.filter(created_at__gte=since) if since is not None else rows


def recognition_by_person(*, since: datetime | None = None) -> list[RecognitionCount]:
    """Kudos and monthly recognitions per person, most recognised first (one query)."""
    rows = (
        _since(Recognition.objects.all(), since)
        .values("person_id", "person__username", "person__first_name", "person__last_name")
        .annotate(kudos=_KUDOS, monthly=_MONTHLY)
    )
    counts = [
        RecognitionCount(
            id=r["person_id"],
            name=f"{r['person__first_name']} {r['person__last_name']}".strip()
            or r["person__username"],
            kudos=r["kudos"],
            monthly=r["monthly"],
        )
        for r in rows
    ]
    return sorted(counts, key=lambda c: (-c.total, -c.monthly, c.name))


def recognition_by_team(*, since: datetime | None = None) -> list[RecognitionCount]:
    """The same per team, counted by the team the person was in when recognised."""
    rows = (
        _since(Recognition.objects.all(), since)
        .values("team_id", "team__name")
        .annotate(kudos=_KUDOS, monthly=_MONTHLY)
    )
    counts = [
        RecognitionCount(
            id=r["team_id"],
            name=r["team__name"] or "No team",
            kudos=r["kudos"],
            monthly=r["monthly"],
        )
        for r in rows
    ]
    return sorted(counts, key=lambda c: (-c.total, -c.monthly, c.name))


def story_library(*, text: str = "", tag: str = "", state: str = "") -> QuerySet[Story]:
    """Stories matching the search, with what the list shows loaded in the same query."""
    rows = Story.objects.search(text).tagged(tag)
    if state:
        rows = rows.filter(state=state)
    return rows.select_related("case", "staff", "author").annotate(
        recognition_count=Count("recognitions")
    )


def tags_in_use() -> list[str]:
    tags: set[str] = set()
    for value in Story.objects.exclude(tags="").values_list("tags", flat=True).distinct():
        tags.update(t for t in value.split(",") if t)
    return sorted(tags)
