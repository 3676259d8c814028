"""The staff inbox: which open cases a view holds, in which order, a page at a time.

Everything here reads. A view is a named slice of the open cases (mine, my
team's, unassigned, breached, due soon, waiting on the customer, all) narrowed
by filters (status, severity, site, assignee, segment, breakdown, channel,
failure mode) and sorted by one column. The whole state travels in the query
string (`InboxQuery.from_params` / `to_params`), so a view's address can be
shared and saved.

What keeps it fast at 100,000 cases (issue 20):
- the default order is `Case.next_due_at`, kept on the case by the timers
  services, with partial indexes over the open cases (all, per assignee, per
  team), so a page is an index range scan, never a sort of every open case;
- pages are keyset pages (bounceback/keyset.py): the next page starts after
  the last row shown, so page 200 costs what page 1 does;
- counts are capped: each view counts at most COUNT_CAP + 1 rows (shown as
  "1,000+"), all views in one query, instead of counting every open case on
  every refresh;
- a page is a constant number of queries: the cases (two when the page
  crosses from timed cases into untimed ones), their next timers, their
  customers' leading segments, the counts.

"VIP first" (the segment view and order) walks the active segments in priority
order, each an id-ordered scan of its members' cases (`_segment_page`), so it
never ranks and sorts every open case either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.cases.models import Case, Severity
from bounceback.cases.selectors import TimerView, cases_next_timers
from bounceback.customers.models import Channel
from bounceback.errors import ValidationFailed
from bounceback.keyset import Order, keyset_page

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

PAGE_SIZE = 50
COUNT_CAP = 1000
# "Due soon": the next target falls within this long from now (not yet overdue).
DUE_SOON = timedelta(hours=1)

VIEWS: list[tuple[str, str]] = [
    ("mine", "Mine"),
    ("team", "My team"),
    ("unassigned", "Unassigned"),
    ("breached", "Breached"),
    ("due_soon", "Due soon"),
    ("waiting", "Waiting on customer"),
    ("segment", "By segment (VIP first)"),
    ("all", "All open"),
]
VIEW_NAMES = {value for value, _ in VIEWS}

# name: (label, order). Every order ends with the id in the same direction,
# which is what lets a page start after a row with one row-value comparison.
SORTS: dict[str, tuple[str, Order]] = {
    "due": ("Next due first", Order("next_due_at", nulls_last=True)),
    "newest": ("Newest first", Order("created_at", descending=True)),
    "oldest": ("Oldest first", Order("created_at")),
    "updated": ("Recently changed", Order("updated_at", descending=True)),
    # The customer's leading segment (lowest priority number: the VIPs), then
    # customers in no segment; paged by `_segment_page` (the Order is its shape).
    "segment": ("Segment, VIP first", Order("segment_rank", nulls_last=True)),
}
# The order a view opens in when the address names none.
VIEW_SORTS = {"segment": "segment"}
FILTERS = (
    "status",
    "severity",
    "site",
    "assignee",
    "segment",
    "breakdown",
    "channel",
    "failure_mode",
)


def default_sort(view: str) -> str:
    """The order `view` opens in: VIP first for the segment view, next due first otherwise."""
    return VIEW_SORTS.get(view, "due")


def _active_members(**segment: Any) -> QuerySet[Any]:
    from bounceback.segments.models import SegmentMembership

    filters = {f"segment__{k}": v for k, v in segment.items()}
    return SegmentMembership.objects.filter(segment__active=True, **filters).values("customer_id")


def _segment_page(
    rows: QuerySet[Case], *, after: str | None, limit: int, members_only: bool = False
) -> tuple[list[Case], str | None]:
    """A keyset page of `rows` VIP first: by the priority of the customer's leading active
    segment (lower first), then by id; customers in no segment last, by id.

    Segments are few, so the page walks them in priority order, each one an id-ordered
    index scan of its members' cases ("leading" is: in a segment of this priority and
    in none before it), instead of working out every open case's rank and sorting
    them all. A page reads the priorities, then one query per priority it crosses
    (and one for the unsegmented tail): two or three for most pages. The cursor is
    [priority, id], the priority null in the tail. `members_only`: `rows` holds only
    segment members (the segment view), so there is no tail to read.
    """
    from bounceback.keyset import cursor_decode, cursor_encode
    from bounceback.segments.models import Segment

    rank: int | None = None
    pk: int | None = None
    tail = False
    if after:
        value, pk = cursor_decode(after, field="after")
        if value is None:
            tail = True
        elif isinstance(value, int) and not isinstance(value, bool):
            rank = value
        else:
            raise ValidationFailed("after is not one this list handed out", field="after")
    found: list[tuple[int | None, Case]] = []
    if not tail:
        priorities = list(
            Segment.objects.active()
            .filter(**({"priority__gte": rank} if rank is not None else {}))
            .order_by("priority")
            .values_list("priority", flat=True)
            .distinct()
        )
        for priority in priorities:
            part = rows.filter(customer_id__in=_active_members(priority=priority)).exclude(
                customer_id__in=_active_members(priority__lt=priority)
            )
            if priority == rank and pk is not None:
                part = part.filter(pk__gt=pk)
            found += [(priority, c) for c in part.order_by("pk")[: limit + 1 - len(found)]]
            if len(found) > limit:
                break
    if len(found) <= limit and not members_only:
        rest = rows.exclude(customer_id__in=_active_members())
        if tail and pk is not None:
            rest = rest.filter(pk__gt=pk)
        found += [(None, c) for c in rest.order_by("pk")[: limit + 1 - len(found)]]
    if len(found) <= limit:
        return [c for _, c in found], None
    found = found[:limit]
    last_rank, last = found[-1]
    return [c for _, c in found], cursor_encode(last_rank, last.pk)


@dataclass(frozen=True)
class InboxQuery:
    """One inbox view as the query string carries it; empty text means "any".

    `site` is a site code, `assignee` a user id, `segment` a segment slug,
    `breakdown` a breakdown reference, `failure_mode` an id: what a person can
    read in an address and what stays true when it is shared.
    """

    view: str = "mine"
    status: str = ""
    severity: str = ""
    site: str = ""
    assignee: str = ""
    segment: str = ""
    breakdown: str = ""
    channel: str = ""
    failure_mode: str = ""
    sort: str = "due"

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> InboxQuery:
        """The view a query string asks for; unknown or malformed values fall back to "any"
        (an old shared link still opens), see `problems` for what was dropped."""
        values: dict[str, str] = {}
        for f in fields(cls):
            raw = params.get(f.name)
            values[f.name] = str(raw).strip()[:100] if raw is not None else ""
        # The inbox used to call the view "scope"; old links keep working.
        values["view"] = values["view"] or str(params.get("scope") or "").strip()
        values["sort"] = values["sort"] or default_sort(values["view"])
        query = cls(**values)
        return query.cleaned()

    def problems(self) -> dict[str, str]:
        """Which values this query cannot use, by field, and why."""
        bad: dict[str, str] = {}
        if self.view not in VIEW_NAMES:
            bad["view"] = f"unknown view {self.view!r}"
        if self.sort not in SORTS:
            bad["sort"] = f"unknown order {self.sort!r}"
        if self.status and self.status not in Case.Status.values:
            bad["status"] = f"unknown status {self.status!r}"
        if self.severity and self.severity not in Severity.values:
            bad["severity"] = f"unknown severity {self.severity!r}"
        if self.channel and self.channel not in Channel.values:
            bad["channel"] = f"unknown channel {self.channel!r}"
        for name in ("assignee", "failure_mode"):
            value = getattr(self, name)
            if value and value != "none" and not value.isdigit():
                bad[name] = f"{name.replace('_', ' ')} must be an id"
        return bad

    def cleaned(self) -> InboxQuery:
        """This query with every value it cannot use set back to its default."""
        defaults = InboxQuery()
        return replace(self, **{name: getattr(defaults, name) for name in self.problems()})

    def to_params(self) -> dict[str, str]:
        """The query string of this view: only what differs from the defaults."""
        defaults = replace(InboxQuery(), sort=default_sort(self.view))
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(defaults, f.name)
        }

    @property
    def filtered(self) -> bool:
        return any(getattr(self, name) for name in FILTERS)

    @property
    def order(self) -> Order:
        return SORTS[self.sort][1]


@dataclass(frozen=True)
class LeadingSegment:
    name: str
    slug: str


@dataclass
class InboxPage:
    cases: list[Case]
    next_after: str | None
    # Per view, the number of open cases it holds under the current filters,
    # at most COUNT_CAP + 1 (read "more than COUNT_CAP").
    counts: dict[str, int]
    now: datetime
    query: InboxQuery
    next_timers: dict[int, TimerView] = field(default_factory=dict)
    # By customer id: the leading segment of each customer on the page in one.
    segments: dict[int, LeadingSegment] = field(default_factory=dict)


def _view_match(view: str, user: User | None, now: datetime) -> Q | None:
    """The view's condition; None when it holds nothing (mine or team with no person,
    as for an API token nobody created)."""
    if view in {"mine", "team"} and user is None:
        return None
    if view == "mine":
        return Q(assignee=user)
    if view == "team":
        assert user is not None
        return Q(assignee=user) | Q(team_id=user.team_id) if user.team_id else Q(assignee=user)
    if view == "unassigned":
        return Q(assignee__isnull=True)
    if view == "breached":
        return Q(breach_count__gt=0)
    if view == "due_soon":
        return Q(next_due_at__gte=now, next_due_at__lt=now + DUE_SOON)
    if view == "waiting":
        return Q(status=Case.Status.WAITING)
    if view == "segment":
        from bounceback.segments.models import SegmentMembership

        members = SegmentMembership.objects.filter(segment__active=True)
        return Q(customer_id__in=members.values("customer_id"))
    return Q()


def _filtered(rows: QuerySet[Case], query: InboxQuery) -> QuerySet[Case]:
    from bounceback.segments.models import SegmentMembership

    if query.status:
        rows = rows.filter(status=query.status)
    if query.severity:
        rows = rows.filter(severity=query.severity)
    if query.site:
        rows = rows.filter(site__code=query.site)
    if query.assignee == "none":
        rows = rows.filter(assignee__isnull=True)
    elif query.assignee:
        rows = rows.filter(assignee_id=int(query.assignee))
    if query.segment:
        members = SegmentMembership.objects.filter(segment__slug=query.segment)
        rows = rows.filter(customer_id__in=members.values("customer_id"))
    if query.breakdown:
        rows = rows.filter(breakdown__reference=query.breakdown)
    if query.channel:
        rows = rows.filter(channel=query.channel)
    if query.failure_mode:
        rows = rows.filter(failure_mode_id=int(query.failure_mode))
    return rows


def cases_inbox_rows(
    *, user: User | AnonymousUser | None, query: InboxQuery, now: datetime | None = None
) -> QuerySet[Case]:
    """The open cases of the view under its filters, unordered (see `cases_inbox_page`)."""
    now = now or timezone.now()
    match = _view_match(query.view, user if isinstance(user, User) else None, now)
    if match is None:
        return Case.objects.none()
    return _filtered(Case.objects.open().filter(match), query)


def cases_inbox_counts_capped(
    *, user: User | AnonymousUser | None, query: InboxQuery, now: datetime | None = None
) -> dict[str, int]:
    """How many open cases each view holds under the query's filters, each counted up to
    COUNT_CAP + 1 rows, all in one query."""
    now = now or timezone.now()
    person = user if isinstance(user, User) else None
    parts: list[str] = []
    params: list[Any] = []
    base = _filtered(Case.objects.open(), query)
    for view, _label in VIEWS:
        match = _view_match(view, person, now)
        if match is None:
            parts.append("0")
            continue
        sides = [match]
        if view == "team" and person is not None and person.team_id:
            # Mine OR my team's: no one index serves the OR (PostgreSQL reads the
            # table), so each side is counted up to the cap on its own index and
            # the union of the two capped sets counted.
            sides = [Q(assignee=person), Q(team_id=person.team_id)]
        selects = []
        for n, side in enumerate(sides):
            rows = base.filter(side).order_by().values("pk")
            sql, part_params = rows[: COUNT_CAP + 1].query.sql_with_params()
            selects.append(f"SELECT pk FROM ({sql}) AS {view}_{n}")  # noqa: S608 (our names)
            params.extend(part_params)
        union = " UNION ".join(selects)
        parts.append(f"(SELECT COUNT(*) FROM ({union}) AS {view}_rows)")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {view: int(count) for (view, _label), count in zip(VIEWS, row, strict=True)}


def cases_inbox_page(
    *,
    user: User | AnonymousUser | None,
    query: InboxQuery,
    after: str | None = None,
    limit: int = PAGE_SIZE,
    counts: bool = True,
    now: datetime | None = None,
) -> InboxPage:
    """One page of the view: its cases (customer, assignee, team and site joined), the
    cursor of the next page, each case's next timer and the capped count of every view.

    Raises ValidationFailed (field "after") for a cursor this inbox did not hand out.
    """
    now = now or timezone.now()
    rows = cases_inbox_rows(user=user, query=query, now=now).select_related(
        "customer", "assignee", "team", "site"
    )
    if query.sort == "segment":
        cases, next_after = _segment_page(
            rows, after=after, limit=limit, members_only=query.view == "segment"
        )
    else:
        cases, next_after = keyset_page(
            rows, order=query.order, after=after, limit=limit, field="after"
        )
    return InboxPage(
        cases=cases,
        next_after=next_after,
        counts=cases_inbox_counts_capped(user=user, query=query, now=now) if counts else {},
        now=now,
        query=query,
        next_timers=cases_next_timers(case_ids=[c.pk for c in cases], now=now),
        segments=customers_leading_segment(customer_ids={c.customer_id for c in cases}),
    )


def customers_leading_segment(*, customer_ids: set[int]) -> dict[int, LeadingSegment]:
    """Each customer's leading active segment (lowest priority), for those in one; one query."""
    from bounceback.segments.models import SegmentMembership

    if not customer_ids:
        return {}
    rows = (
        SegmentMembership.objects.filter(customer_id__in=customer_ids, segment__active=True)
        .order_by("customer_id", "segment__priority", "segment_id")
        .values_list("customer_id", "segment__name", "segment__slug")
    )
    leading: dict[int, LeadingSegment] = {}
    for customer_id, name, slug in rows:
        leading.setdefault(customer_id, LeadingSegment(name=name, slug=slug))
    return leading
