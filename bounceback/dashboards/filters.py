"""The slice of the business a dashboard shows: a period, and a site, team and segment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Q
from django.utils import timezone

from bounceback.errors import ValidationFailed
from bounceback.loyalty.periods import loyalty_period

DEFAULT_DAYS = 84  # twelve weeks: enough weeks to see a trend, recent enough to act on
MOST_BUCKETS = 12


@dataclass(frozen=True)
class DashboardFilters:
    since: datetime  # first day 00:00 in the viewer's zone
    until: datetime  # the day after the last day, 00:00 (exclusive)
    site: str = ""  # a site code
    team: int | None = None
    segment: str = ""  # a segment slug
    site_id: int | None = None

    def params(self) -> dict[str, str]:
        """The query string that gives these filters back (for drill-down and CSV links)."""
        out = {
            "since": f"{timezone.localtime(self.since):%Y-%m-%d}",
            "until": f"{timezone.localtime(self.until - timedelta(days=1)):%Y-%m-%d}",
        }
        if self.site:
            out["site"] = self.site
        if self.team:
            out["team"] = str(self.team)
        if self.segment:
            out["segment"] = self.segment
        return out

    def query(self, **extra: str) -> str:
        return urlencode({**self.params(), **extra})

    def case_match(self, prefix: str = "") -> Q:
        """Site, team and segment as a condition on cases (`prefix` reaches them from
        another model, e.g. "case__"). A drill's cases are practice: never counted."""
        match = Q(**{f"{prefix}drill__isnull": True})
        if self.site_id is not None:
            match &= Q(**{f"{prefix}site_id": self.site_id})
        if self.team is not None:
            match &= Q(**{f"{prefix}team_id": self.team})
        if self.segment:
            from bounceback.segments.models import SegmentMembership

            members = SegmentMembership.objects.filter(segment__slug=self.segment)
            match &= Q(**{f"{prefix}customer_id__in": members.values("customer_id")})
        return match


@dataclass(frozen=True)
class Bucket:
    index: int
    start: datetime
    end: datetime
    label: str


def dashboard_filters(
    *,
    since: date | None = None,
    until: date | None = None,
    site: str = "",
    team: int | None = None,
    segment: str = "",
) -> DashboardFilters:
    """Check and resolve the filters; ValidationFailed names the field at fault.

    The period defaults to the last twelve weeks up to today, in the current zone.
    """
    from bounceback.accounts.models import Team
    from bounceback.segments.models import Segment
    from bounceback.sites.models import Site

    if until is None and since is None:
        until = timezone.localdate()
    if since is None and until is not None:
        since = until - timedelta(days=DEFAULT_DAYS - 1)
    start, end = loyalty_period(since=since, until=until)
    site = (site or "").strip()
    site_id = None
    if site:
        site_id = Site.objects.filter(code=site).values_list("pk", flat=True).first()
        if site_id is None:
            raise ValidationFailed(f"no site with code {site!r}", field="site")
    if team is not None and not Team.objects.filter(pk=team).exists():
        raise ValidationFailed(f"no team {team}", field="team")
    segment = (segment or "").strip()
    if segment and not Segment.objects.filter(slug=segment).exists():
        raise ValidationFailed(f"no segment {segment!r}", field="segment")
    return DashboardFilters(
        since=start, until=end, site=site, team=team, segment=segment, site_id=site_id
    )


def buckets(filters: DashboardFilters) -> list[Bucket]:
    """The period cut into at most twelve equal runs of whole days (a week each for
    the default twelve weeks), labelled by their first day."""
    days = max(1, round((filters.until - filters.since).total_seconds() / 86400))
    size = max(1, -(-days // MOST_BUCKETS))
    out = []
    start = filters.since
    i = 0
    while start < filters.until:
        end = min(start + timedelta(days=size), filters.until)
        local = timezone.localtime(start)
        out.append(Bucket(index=i, start=start, end=end, label=f"{local:%d %b}"))
        start = end
        i += 1
    return out
