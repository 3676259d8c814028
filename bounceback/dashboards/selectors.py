"""What each dashboard tile shows, and the cases behind each of its figures.

A tile is a small table (`rows`, one per bar or point) with a headline; the
page draws it as a chart beside the same table, the API returns it, and the
CSV export writes it. Every row names a drill-down `key`; `tile_cases` turns
(tile, key, filters) back into the very cases the figure counted, using the
same conditions, so a bar of 37 opens a list of 37 cases.

Speed (issue 17: under 150 ms a dashboard at 100,000 cases): every figure is
one aggregate over an index range (cases by `created_at`, answers by
`follow_up_recorded_at`, fixes by `fixed_at`, open cases on the inbox's partial
indexes) with the buckets of the period as conditional counts in that single
pass, never a query per bucket or per row. First response times come from
the `Conversation` roll-up (models.py), kept fresh to the minute. The one
costly figure, revenue kept (the loyalty report), is worked out in the
background (`LoyaltyFigure`) and read back as last worked out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Case as DbCase
from django.db.models import CharField, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.urls import reverse
from django.utils import timezone

from bounceback.cases.models import Case, Severity
from bounceback.dashboards.expressions import SecondsBetween
from bounceback.dashboards.filters import Bucket, DashboardFilters, buckets
from bounceback.dashboards.models import Conversation, LoyaltyFigure
from bounceback.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from bounceback.accounts.models import User

DUE_SOON = timedelta(hours=4)
PARETO_TOP = 10
LOYALTY_TTL = 15 * 60
# Revenue kept rests on 90-day return rates: a shorter period's customers have not been
# watched long enough, so the estimate covers at least the year up to the period's end.
LOYALTY_SPAN = timedelta(days=365)
STEPS = (
    ("apologise", "Apologise"),
    ("fix", "Fix or update"),
    ("update", "Progress updates"),
    ("follow_up", "Follow up"),
    ("document", "Document"),
)
# (key, label, upper bound) for durations: what a person reads at a glance.
FIX_BANDS = (
    ("20m", "Within 20 minutes", timedelta(minutes=20)),
    ("1h", "Within an hour", timedelta(hours=1)),
    ("4h", "Within 4 hours", timedelta(hours=4)),
    ("1d", "Within a day", timedelta(days=1)),
    ("7d", "Within a week", timedelta(days=7)),
    ("later", "Later", None),
)
REPLY_BANDS = (
    ("5m", "Within 5 minutes", 300),
    ("1h", "Within an hour", 3600),
    ("4h", "Within 4 hours", 4 * 3600),
    ("1d", "Within a day", 86400),
    ("later", "Later", None),
)


@dataclass
class TileRow:
    key: str
    label: str
    values: dict[str, Any]
    href: str = ""


@dataclass
class Tile:
    name: str
    title: str
    headline: str
    # (value key, column heading, unit): unit is "count", "share", "seconds" or "money".
    columns: list[tuple[str, str, str]]
    rows: list[TileRow]
    chart: str  # "bars", "columns", "lines", "pareto" or "" (numbers only)
    note: str = ""
    headline_href: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    filters: DashboardFilters
    user: User | None
    now: datetime
    # Reads several tiles share within one request (see `_opened_groups`).
    memo: dict[str, Any] = field(default_factory=dict, compare=False)


def _share(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole and part is not None else None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def drill_url(ctx: Context, tile: str, key: str) -> str:
    return reverse("dashboards:cases") + "?" + ctx.filters.query(tile=tile, key=key)


def _bucket_of(ctx: Context, key: str) -> Bucket:
    raw = key.split(":", 1)[0]
    found = {str(b.index): b for b in buckets(ctx.filters)}
    if raw not in found:
        raise ValidationFailed(f"no period {raw!r} in this dashboard", field="key")
    return found[raw]


def cases_opened(ctx: Context) -> QuerySet[Case]:
    f = ctx.filters
    return Case.objects.filter(created_at__gte=f.since, created_at__lt=f.until).filter(
        f.case_match()
    )


def _bucket_expr(field_name: str, spans: list[Bucket]) -> DbCase:
    """Which period of the dashboard a row falls in (rows are already inside the period)."""
    return DbCase(
        *(When(**{f"{field_name}__lt": b.end}, then=Value(b.index)) for b in spans),
        default=Value(-1),
        output_field=IntegerField(),
    )


def _by_bucket(
    rows: QuerySet[Any], field_name: str, spans: list[Bucket], **aggregates: Any
) -> dict[int, dict[str, Any]]:
    """`aggregates` per period in one grouped query."""
    if not spans:
        return {}
    grouped = (
        rows.annotate(_bucket=_bucket_expr(field_name, spans))
        .values("_bucket")
        .annotate(**aggregates)
        .order_by()
    )
    return {r["_bucket"]: r for r in grouped}


# --- The agent: my overdue and due-soon cases, and how my customers felt ------------------


def _mine(ctx: Context) -> QuerySet[Case]:
    if ctx.user is None:
        return Case.objects.none()
    return Case.objects.open().filter(assignee=ctx.user).filter(ctx.filters.case_match())


def _urgent_match(key: str, now: datetime) -> Q:
    if key == "overdue":
        return Q(next_due_at__lte=now)
    if key == "due_soon":
        return Q(next_due_at__gt=now, next_due_at__lte=now + DUE_SOON)
    raise ValidationFailed(f"no figure {key!r} on this tile", field="key")


def tile_my_urgent(ctx: Context) -> Tile:
    counts = _mine(ctx).aggregate(
        overdue=Count("pk", filter=_urgent_match("overdue", ctx.now)),
        due_soon=Count("pk", filter=_urgent_match("due_soon", ctx.now)),
        open=Count("pk"),
    )
    rows = [
        TileRow(k, label, {"cases": counts[k]}, drill_url(ctx, "my_urgent", k))
        for k, label in (("overdue", "Overdue"), ("due_soon", "Due in the next 4 hours"))
    ]
    return Tile(
        name="my_urgent",
        title="Your cases that need you",
        headline=f"{counts['overdue']} overdue · {counts['due_soon']} due soon",
        columns=[("cases", "Cases", "count")],
        rows=rows,
        chart="bars",
        note=f"Of your {counts['open']} open cases, now.",
        headline_href=rows[0].href,
    )


def _satisfaction(ctx: Context, tile: str, mine: bool) -> Tile:
    f = ctx.filters
    answered = Case.objects.filter(
        follow_up_recorded_at__gte=f.since, follow_up_recorded_at__lt=f.until
    ).filter(f.case_match())
    if mine:
        answered = answered.filter(assignee=ctx.user) if ctx.user else answered.none()
    spans = buckets(f)
    per = _by_bucket(
        answered,
        "follow_up_recorded_at",
        spans,
        a=Count("pk"),
        s=Count("pk", filter=Q(satisfied=True)),
        w=Count("pk", filter=Q(will_return=True)),
    )
    got = {f"{k}{b.index}": per.get(b.index, {}).get(k, 0) for b in spans for k in ("a", "s", "w")}
    rows = []
    for b in spans:
        a, s, w = got[f"a{b.index}"], got[f"s{b.index}"], got[f"w{b.index}"]
        rows.append(
            TileRow(
                str(b.index),
                b.label,
                {
                    "answered": a,
                    "satisfied": _share(s, a),
                    "would_return": _share(w, a),
                    "satisfied_href": drill_url(ctx, tile, f"{b.index}:satisfied") if a else "",
                    "would_return_href": drill_url(ctx, tile, f"{b.index}:will_return")
                    if a
                    else "",
                },
                drill_url(ctx, tile, str(b.index)) if a else "",
            )
        )
    total = sum(got.get(f"a{b.index}", 0) for b in spans)
    happy = sum(got.get(f"s{b.index}", 0) for b in spans)
    back = sum(got.get(f"w{b.index}", 0) for b in spans)
    who = "your customers" if mine else "customers"
    return Tile(
        name=tile,
        title="How your customers felt" if mine else "Satisfaction and would return, over time",
        headline=(
            f"{_pct(_share(happy, total))} satisfied · {_pct(_share(back, total))} would return"
        ),
        columns=[
            ("answered", "Follow-up answers", "count"),
            ("satisfied", "Satisfied", "share"),
            ("would_return", "Would return", "share"),
        ],
        rows=rows,
        chart="lines",
        note=f"{total} follow-up answer{'s' if total != 1 else ''} from {who} in the period.",
        headline_href=drill_url(ctx, tile, "all"),
    )


def _satisfaction_cases(ctx: Context, key: str, mine: bool) -> QuerySet[Case]:
    f = ctx.filters
    rows = Case.objects.filter(f.case_match())
    if mine:
        rows = rows.filter(assignee=ctx.user) if ctx.user else rows.none()
    if key == "all":
        return rows.filter(follow_up_recorded_at__gte=f.since, follow_up_recorded_at__lt=f.until)
    b = _bucket_of(ctx, key)
    rows = rows.filter(follow_up_recorded_at__gte=b.start, follow_up_recorded_at__lt=b.end)
    what = key.partition(":")[2]
    if what == "satisfied":
        return rows.filter(satisfied=True)
    if what == "will_return":
        return rows.filter(will_return=True)
    return rows


# --- The lead: the team's breaches, unassigned cases, approvals ---------------------------


def _team_open(ctx: Context) -> QuerySet[Case]:
    rows = Case.objects.open().filter(ctx.filters.case_match())
    team = ctx.filters.team or getattr(ctx.user, "team_id", None)
    if team and ctx.filters.team is None:
        rows = rows.filter(Q(team_id=team) | Q(team__isnull=True))
    return rows


def tile_team_breaches(ctx: Context) -> Tile:
    found = (
        _team_open(ctx)
        .filter(breach_count__gt=0)
        .values("assignee_id", "assignee__first_name", "assignee__last_name", "assignee__username")
        .annotate(cases=Count("pk"))
        .order_by("-cases")
    )
    rows = []
    for r in found:
        name = f"{r['assignee__first_name'] or ''} {r['assignee__last_name'] or ''}".strip()
        key = str(r["assignee_id"]) if r["assignee_id"] else "none"
        label = name or r["assignee__username"] or "Nobody"
        rows.append(
            TileRow(key, label, {"cases": r["cases"]}, drill_url(ctx, "team_breaches", key))
        )
    total = sum(r.values["cases"] for r in rows)
    return Tile(
        name="team_breaches",
        title="Open cases that missed a target, by who has them",
        headline=f"{total} open case{'s' if total != 1 else ''} missed a target",
        columns=[("cases", "Cases", "count")],
        rows=rows,
        chart="bars",
        headline_href=drill_url(ctx, "team_breaches", "all"),
    )


def tile_unassigned(ctx: Context) -> Tile:
    found = dict(
        _team_open(ctx)
        .filter(assignee__isnull=True)
        .values_list("severity")
        .annotate(cases=Count("pk"))
        .order_by()
    )
    rows = [
        TileRow(value, label, {"cases": found.get(value, 0)}, drill_url(ctx, "unassigned", value))
        for value, label in reversed(Severity.choices)
    ]
    total = sum(found.values())
    return Tile(
        name="unassigned",
        title="Unassigned open cases, by severity",
        headline=f"{total} unassigned",
        columns=[("cases", "Cases", "count")],
        rows=rows,
        chart="bars",
        headline_href=drill_url(ctx, "unassigned", "all"),
    )


def _approvals(ctx: Context) -> QuerySet[Any]:
    from bounceback.funds.selectors import approval_queue

    if ctx.user is None:
        from bounceback.funds.models import ApprovalRequest

        return ApprovalRequest.objects.none()
    return approval_queue(user=ctx.user).filter(ctx.filters.case_match("grant__case__"))


def tile_approvals(ctx: Context) -> Tile:
    waiting = _approvals(ctx)
    counts = waiting.aggregate(all=Count("pk"), overdue=Count("pk", filter=Q(due_at__lte=ctx.now)))
    rows = [
        TileRow(
            "all", "Waiting for you", {"cases": counts["all"]}, drill_url(ctx, "approvals", "all")
        ),
        TileRow(
            "overdue",
            "Past their due time",
            {"cases": counts["overdue"]},
            drill_url(ctx, "approvals", "overdue"),
        ),
    ]
    return Tile(
        name="approvals",
        title="Gestures waiting for your approval",
        headline=f"{counts['all']} waiting",
        columns=[("cases", "Approvals", "count")],
        rows=rows,
        chart="bars",
        headline_href=reverse("funds:approvals"),
    )


# --- Managers and executives: how the recovery performs ------------------------------------


def tile_on_time(ctx: Context) -> Tile:
    from bounceback.timers.models import Timer

    # Read from timer_subject_idx alone (it carries kind and breached_at); counted per
    # step in one pass rather than grouped, which would sort every timer of the period.
    done = Timer.objects.filter(
        subject_type="case",
        subject_id__in=cases_opened(ctx).values("pk"),
        state__in=[Timer.State.MET, Timer.State.BREACHED],
    )
    got = done.aggregate(
        **{f"done_{kind}": Count("pk", filter=Q(kind=kind)) for kind, _label in STEPS},
        **{
            f"late_{kind}": Count("pk", filter=Q(kind=kind, breached_at__isnull=False))
            for kind, _label in STEPS
        },
    )
    found = {kind: {"done": got[f"done_{kind}"], "late": got[f"late_{kind}"]} for kind, _l in STEPS}
    rows = []
    for kind, label in STEPS:
        r = found.get(kind, {"done": 0, "late": 0})
        on_time = r["done"] - r["late"]
        rows.append(
            TileRow(
                kind,
                label,
                {
                    "on_time": _share(on_time, r["done"]),
                    "steps": r["done"],
                    "late": r["late"],
                    "late_href": drill_url(ctx, "on_time", f"{kind}:late") if r["late"] else "",
                },
                drill_url(ctx, "on_time", kind) if r["done"] else "",
            )
        )
    total = sum(r.values["steps"] for r in rows)
    late = sum(r.values["late"] for r in rows)
    return Tile(
        name="on_time",
        title="Steps done on time",
        headline=f"{_pct(_share(total - late, total))} of steps on time",
        columns=[
            ("on_time", "On time", "share"),
            ("steps", "Steps done", "count"),
            ("late", "Late", "count"),
        ],
        rows=rows,
        chart="bars",
        note="Steps of the cases opened in the period that are done (met or missed).",
    )


def _on_time_cases(ctx: Context, key: str) -> QuerySet[Case]:
    from bounceback.timers.models import Timer

    kind, _, what = key.partition(":")
    if kind not in dict(STEPS):
        raise ValidationFailed(f"no step {kind!r}", field="key")
    timers = Timer.objects.filter(subject_type="case", state__in=["met", "breached"], kind=kind)
    if what == "late":
        timers = timers.filter(breached_at__isnull=False)
    return cases_opened(ctx).filter(pk__in=timers.values("subject_id"))


def _conversations(ctx: Context) -> QuerySet[Conversation]:
    f = ctx.filters
    rows = Conversation.objects.filter(
        first_customer_at__gte=f.since, first_customer_at__lt=f.until
    )
    if f.site_id is not None:
        rows = rows.filter(site_id=f.site_id)
    if f.team is not None:
        rows = rows.filter(team_id=f.team)
    if f.segment:
        from bounceback.segments.models import SegmentMembership

        members = SegmentMembership.objects.filter(segment__slug=f.segment)
        rows = rows.filter(customer_id__in=members.values("customer_id"))
    return rows


def _reply_band(key: str) -> Q:
    lower = 0
    for band, _label, upper in REPLY_BANDS:
        if band == key:
            match = Q(response_seconds__gte=lower)
            return match & Q(response_seconds__lt=upper) if upper is not None else match
        lower = upper or 0
    if key == "waiting":
        return Q(response_seconds__isnull=True)
    raise ValidationFailed(f"no band {key!r}", field="key")


@dataclass(frozen=True)
class FirstResponse:
    conversations: int
    answered: int
    average_seconds: float | None
    bands: dict[str, int]
    per_bucket: list[tuple[Bucket, int, int, float | None]]  # answered, within an hour, avg


def first_response(ctx: Context) -> FirstResponse:
    """For each conversation whose customer first wrote in the period, the time to the
    first reply from staff: how many, how fast on average, by band and over time.

    One query, grouped by period and band (two CASE expressions), not a filtered
    count per cell: compiling dozens of filtered aggregates costs more than reading."""
    spans = buckets(ctx.filters)
    lower = 0
    whens = []
    for band, _label, upper in REPLY_BANDS:
        if upper is not None:
            whens.append(When(response_seconds__lt=upper, then=Value(band)))
        lower = upper or lower
    band_of = DbCase(
        When(response_seconds__isnull=True, then=Value("waiting")),
        *whens,
        default=Value("later"),
        output_field=CharField(),
    )
    grouped = (
        _conversations(ctx)
        .annotate(_bucket=_bucket_expr("first_customer_at", spans), _band=band_of)
        .values("_bucket", "_band")
        .annotate(n=Count("pk"), total=Sum("response_seconds"))
        .order_by()
    )
    bands = {k: 0 for k, _l, _u in REPLY_BANDS}
    per: dict[int, list[float]] = {b.index: [0, 0, 0.0] for b in spans}  # answered, <1h, sum
    conversations = answered = 0
    seconds = 0.0
    for r in grouped:
        conversations += r["n"]
        if r["_band"] == "waiting":
            continue
        bands[r["_band"]] += r["n"]
        answered += r["n"]
        seconds += float(r["total"] or 0)
        cell = per.get(r["_bucket"])
        if cell is not None:
            cell[0] += r["n"]
            cell[1] += r["n"] if r["_band"] in ("5m", "1h") else 0
            cell[2] += float(r["total"] or 0)
    return FirstResponse(
        conversations=conversations,
        answered=answered,
        average_seconds=seconds / answered if answered else None,
        bands=bands,
        per_bucket=[
            (
                b,
                int(per[b.index][0]),
                int(per[b.index][1]),
                per[b.index][2] / per[b.index][0] if per[b.index][0] else None,
            )
            for b in spans
        ],
    )


def duration_words(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def tile_first_response(ctx: Context) -> Tile:
    fr = first_response(ctx)
    rows = [
        TileRow(
            str(b.index),
            b.label,
            {
                "answered": n,
                "within_hour": _share(h, n),
                "average_minutes": round(avg / 60, 1) if avg is not None else None,
            },
            drill_url(ctx, "first_response", str(b.index)) if n else "",
        )
        for b, n, h, avg in fr.per_bucket
    ]
    bands = [
        TileRow(k, label, {"conversations": fr.bands[k]}, drill_url(ctx, "first_response", k))
        for k, label, _u in REPLY_BANDS
    ]
    waiting = fr.conversations - fr.answered
    return Tile(
        name="first_response",
        title="First response time",
        headline=f"{duration_words(fr.average_seconds)} on average",
        columns=[
            ("answered", "Conversations answered", "count"),
            ("within_hour", "Answered within an hour", "share"),
            ("average_minutes", "Average (minutes)", "count"),
        ],
        rows=rows,
        chart="lines",
        note=(
            f"{fr.answered} of {fr.conversations} conversations answered by staff; "
            f"{waiting} still wait for a first reply. From the customer's first message to "
            "the first reply from staff (automatic messages do not count)."
        ),
        extra={"bands": bands, "waiting_href": drill_url(ctx, "first_response", "waiting")},
    )


def _first_response_cases(ctx: Context, key: str) -> QuerySet[Case]:
    rows = _conversations(ctx)
    if key.isdigit():
        b = _bucket_of(ctx, key)
        rows = rows.filter(
            first_customer_at__gte=b.start,
            first_customer_at__lt=b.end,
            response_seconds__isnull=False,
        )
    elif key != "all":
        rows = rows.filter(_reply_band(key))
    return Case.objects.filter(pk__in=rows.filter(case_id__isnull=False).values("case_id"))


def _fix_seconds(rows: QuerySet[Case]) -> QuerySet[Case]:
    return rows.annotate(_fix_s=SecondsBetween("created_at", "fixed_at"))


def _fix_band(key: str) -> Q:
    """The band's condition on `_fix_s` (see `_fix_seconds`): above the band before, up to
    and including its own bound ("hour": the first two bands together)."""
    if key == "hour":
        return Q(fixed_at__isnull=False, _fix_s__lte=3600.0)
    lower: timedelta | None = None
    for band, _label, upper in FIX_BANDS:
        if band == key:
            match = Q(fixed_at__isnull=False)
            if lower is not None:
                match &= Q(_fix_s__gt=lower.total_seconds())
            if upper is not None:
                match &= Q(_fix_s__lte=upper.total_seconds())
            return match
        lower = upper
    if key == "not_fixed":
        return Q(fixed_at__isnull=True)
    raise ValidationFailed(f"no band {key!r}", field="key")


def _opened_groups(ctx: Context) -> list[dict[str, Any]]:
    """The period's cases counted by period, failure mode and time-to-fix band: one scan of
    case_dashboard_opened_idx that the Pareto, playbook coverage and time-to-fix tiles share
    (each would otherwise read the same 25,000 index entries again)."""
    if "opened" not in ctx.memo:
        spans = buckets(ctx.filters)
        band_of = DbCase(
            When(fixed_at__isnull=True, then=Value("not_fixed")),
            *(
                When(_fix_s__lte=upper.total_seconds(), then=Value(band))
                for band, _label, upper in FIX_BANDS
                if upper is not None
            ),
            default=Value("later"),
            output_field=CharField(),
        )
        ctx.memo["opened"] = list(
            _fix_seconds(cases_opened(ctx))
            .annotate(_bucket=_bucket_expr("created_at", spans), _band=band_of)
            .values("_bucket", "failure_mode_id", "_band")
            .annotate(n=Count("pk"))
            .order_by()
        )
    return ctx.memo["opened"]  # type: ignore[no-any-return]


def tile_time_to_fix(ctx: Context) -> Tile:
    spans = buckets(ctx.filters)
    grouped = _opened_groups(ctx)
    got: dict[str, int] = {f"band_{k}": 0 for k, _l, _u in FIX_BANDS}
    got["band_not_fixed"] = 0
    for b in spans:
        got[f"f{b.index}"] = got[f"q{b.index}"] = 0
    for r in grouped:
        got[f"band_{r['_band']}"] += r["n"]
        if r["_bucket"] in range(len(spans)) and r["_band"] != "not_fixed":
            got[f"f{r['_bucket']}"] += r["n"]
            if r["_band"] in ("20m", "1h"):
                got[f"q{r['_bucket']}"] += r["n"]
    rows = [
        TileRow(k, label, {"cases": got[f"band_{k}"]}, drill_url(ctx, "time_to_fix", k))
        for k, label, _u in (*FIX_BANDS, ("not_fixed", "Not fixed yet", None))
    ]
    fixed = sum(got[f"band_{k}"] for k, _l, _u in FIX_BANDS)
    trend = [
        TileRow(
            str(b.index),
            b.label,
            {
                "fixed": got[f"f{b.index}"],
                "within_hour": _share(got[f"q{b.index}"], got[f"f{b.index}"]),
            },
            drill_url(ctx, "time_to_fix", f"{b.index}:hour") if got[f"q{b.index}"] else "",
        )
        for b in spans
    ]
    return Tile(
        name="time_to_fix",
        title="Time to fix",
        headline=(
            f"{_pct(_share(got['band_20m'] + got['band_1h'], fixed))} fixed within an hour · "
            f"{_pct(_share(got['band_20m'], fixed))} within 20 minutes"
        ),
        columns=[("cases", "Cases", "count")],
        rows=rows,
        chart="columns",
        note=(
            f"{fixed} of the period's cases are fixed; from the customer's complaint to the "
            "fix (the 20-minute rule runs from the apology)."
        ),
        extra={"trend": trend},
    )


def _time_to_fix_cases(ctx: Context, key: str) -> QuerySet[Case]:
    if ":" in key:
        b = _bucket_of(ctx, key)
        return (
            _fix_seconds(cases_opened(ctx))
            .filter(created_at__gte=b.start, created_at__lt=b.end)
            .filter(_fix_band(key.partition(":")[2]))
        )
    return _fix_seconds(cases_opened(ctx)).filter(_fix_band(key))


def tile_failure_modes(ctx: Context) -> Tile:
    from bounceback.failuremodes.models import FailureMode

    by_mode: dict[int | None, int] = {}
    for g in _opened_groups(ctx):
        by_mode[g["failure_mode_id"]] = by_mode.get(g["failure_mode_id"], 0) + g["n"]
    counted = sorted(by_mode.items(), key=lambda item: -item[1])
    named = [(fm, n) for fm, n in counted if fm is not None]
    top = named[:PARETO_TOP]
    titles = dict(
        FailureMode.objects.filter(pk__in=[fm for fm, _n in top]).values_list("pk", "title")
    )
    rows = [
        TileRow(
            str(fm),
            titles.get(fm, f"#{fm}"),
            {"cases": n},
            drill_url(ctx, "failure_modes", str(fm)),
        )
        for fm, n in top
    ]
    rest = sum(n for _fm, n in named[PARETO_TOP:])
    if rest:
        rows.append(
            TileRow(
                "other",
                "Every other mode",
                {"cases": rest},
                drill_url(ctx, "failure_modes", "other"),
            )
        )
    unclassified = sum(n for fm, n in counted if fm is None)
    if unclassified:
        rows.append(
            TileRow(
                "none",
                "Not classified",
                {"cases": unclassified},
                drill_url(ctx, "failure_modes", "none"),
            )
        )
    # Largest first; "every other mode" and "not classified" stay last, as on any Pareto.
    rows.sort(key=lambda r: (r.key in ("other", "none"), -r.values["cases"]))
    total = sum(n for _fm, n in counted)
    running = 0
    for r in rows:
        running += r.values["cases"]
        r.values["cumulative"] = _share(running, total)
    lead = next((r.label for r in rows if r.key not in ("other", "none")), "—")
    return Tile(
        name="failure_modes",
        title="Cases by failure mode",
        headline=f"{total} cases · most: {lead}",
        columns=[("cases", "Cases", "count"), ("cumulative", "Share so far", "share")],
        rows=rows,
        chart="pareto",
        extra={"top_ids": [fm for fm, _n in top]},
    )


def _failure_mode_cases(ctx: Context, key: str) -> QuerySet[Case]:
    rows = cases_opened(ctx)
    if key == "none":
        return rows.filter(failure_mode__isnull=True)
    if key == "other":
        top = [
            fm
            for fm, _n in rows.filter(failure_mode__isnull=False)
            .values_list("failure_mode_id")
            .annotate(cases=Count("pk"))
            .order_by("-cases")[:PARETO_TOP]
        ]
        return rows.filter(failure_mode__isnull=False).exclude(failure_mode_id__in=top)
    if not key.isdigit():
        raise ValidationFailed("key must be a failure mode id, none or other", field="key")
    return rows.filter(failure_mode_id=int(key))


def loyalty_slice(filters: DashboardFilters) -> tuple[str, datetime, datetime]:
    """The loyalty slice the money tile reads: the year (at least) to the period's end, at
    the filters' site and segment. Returns (key, since, until)."""
    since = min(filters.since, filters.until - LOYALTY_SPAN)
    local = timezone.localtime
    key = (
        f"{local(since):%Y-%m-%d}|{local(filters.until):%Y-%m-%d}|{filters.site}|{filters.segment}"
    )
    return key, since, filters.until


def loyalty_figure(filters: DashboardFilters) -> LoyaltyFigure | None:
    """The slice's revenue figures as last worked out, or None before the first time."""
    key, _since, _until = loyalty_slice(filters)
    return LoyaltyFigure.objects.filter(key=key, computed_at__isnull=False).first()


def tile_money(ctx: Context) -> Tile:
    from bounceback.funds.models import Grant

    currency = settings.BOUNCEBACK_CURRENCY
    spans = buckets(ctx.filters)
    # Gestures granted in the period, on the grant's own site, team and customer columns:
    # a range of the grants' created_at index, no join to the cases.
    f = ctx.filters
    grants = _grants_matching(
        Grant.objects.filter(
            created_at__gte=f.since,
            created_at__lt=f.until,
            state=Grant.State.GRANTED,
            currency=currency,
        ),
        f,
    )
    per = _by_bucket(grants, "created_at", spans, total=Sum("value"))
    got = {f"s{b.index}": per.get(b.index, {}).get("total") for b in spans}
    spent = sum((v for v in got.values() if v is not None), Decimal("0"))
    figure = loyalty_figure(ctx.filters)
    kept = figure.revenue_kept if figure is not None else None
    at_risk = figure.revenue_at_risk if figure is not None else None
    rows = [
        TileRow(
            str(b.index),
            b.label,
            {"spend": got[f"s{b.index}"] or Decimal("0")},
            drill_url(ctx, "money", str(b.index)) if got[f"s{b.index}"] else "",
        )
        for b in spans
    ]
    ratio = f" · {kept / spent:.1f} times what it cost" if kept and spent else ""
    if figure is None:
        worked = "Revenue kept is being worked out in the background; it shows within minutes."
    else:
        at = timezone.localtime(figure.computed_at)
        worked = f"Revenue at risk now: {currency} {at_risk or 0:,.2f}. Worked out at {at:%H:%M}."
    return Tile(
        name="money",
        title="Recovery spend against revenue kept",
        headline=(
            f"{currency} {spent:,.2f} spent · "
            + (f"{currency} {kept or 0:,.2f} kept{ratio}" if figure else "revenue kept: soon")
        ),
        columns=[("spend", f"Gestures granted ({currency})", "money")],
        rows=rows,
        chart="columns",
        note=(
            "Spend: gestures granted from the recovery funds in the period (where the gesture "
            "was granted, for whose case). Revenue kept: from "
            "the loyalty report over failures in the year to the period's end (the 90-day "
            "return rate of recovered customers over those not recovered, times their usual "
            f"spend), worked out again every {LOYALTY_TTL // 60} minutes. " + worked
        ),
        headline_href=reverse("loyalty:report") + "?" + ctx.filters.query(),
        extra={
            "spent": spent,
            "kept": kept,
            "at_risk": at_risk,
            "currency": currency,
            "loyalty_key": loyalty_slice(ctx.filters)[0],
        },
    )


def _grants_matching(grants: QuerySet[Any], f: DashboardFilters) -> QuerySet[Any]:
    """The filters on a grant's own site, team and customer columns (no scan of cases);
    a drill's practice cases have no real gestures, but are left out all the same."""
    grants = grants.filter(case__drill__isnull=True)
    if f.site_id is not None:
        grants = grants.filter(site_id=f.site_id)
    if f.team is not None:
        grants = grants.filter(team_id=f.team)
    if f.segment:
        from bounceback.segments.models import SegmentMembership

        members = SegmentMembership.objects.filter(segment__slug=f.segment)
        grants = grants.filter(customer_id__in=members.values("customer_id"))
    return grants


def _money_cases(ctx: Context, key: str) -> QuerySet[Case]:
    from bounceback.funds.models import Grant

    f = ctx.filters
    grants = _grants_matching(
        Grant.objects.filter(state=Grant.State.GRANTED, currency=settings.BOUNCEBACK_CURRENCY), f
    )
    if key == "all":
        grants = grants.filter(created_at__gte=f.since, created_at__lt=f.until)
    else:
        b = _bucket_of(ctx, key)
        grants = grants.filter(created_at__gte=b.start, created_at__lt=b.end)
    return Case.objects.filter(pk__in=grants.values("case_id"))


def _covered_modes() -> QuerySet[Any]:
    from bounceback.playbooks.models import Playbook

    return Playbook.objects.filter(
        archived=False, current__isnull=False, failure_mode__isnull=False
    ).values("failure_mode_id")


def _coverage_match(key: str) -> Q:
    if key == "covered":
        return Q(failure_mode_id__in=_covered_modes())
    if key == "uncovered":
        return Q(failure_mode__isnull=False) & ~Q(failure_mode_id__in=_covered_modes())
    if key == "none":
        return Q(failure_mode__isnull=True)
    raise ValidationFailed(f"no figure {key!r} on this tile", field="key")


def tile_playbook_coverage(ctx: Context) -> Tile:
    covered = set(_covered_modes().values_list("failure_mode_id", flat=True))
    got = {"covered": 0, "uncovered": 0, "none": 0}
    for g in _opened_groups(ctx):
        mode = g["failure_mode_id"]
        got["none" if mode is None else "covered" if mode in covered else "uncovered"] += g["n"]
    labels = {
        "covered": "A playbook covers the failure",
        "uncovered": "No playbook for the failure",
        "none": "Failure not classified",
    }
    rows = [
        TileRow(k, labels[k], {"cases": got[k]}, drill_url(ctx, "playbook_coverage", k))
        for k in labels
    ]
    total = sum(got.values())
    return Tile(
        name="playbook_coverage",
        title="Playbook coverage",
        headline=f"{_pct(_share(got['covered'], total))} of cases had a playbook",
        columns=[("cases", "Cases", "count")],
        rows=rows,
        chart="bars",
        headline_href=reverse("failuremodes:coverage"),
    )


def tile_breakdowns(ctx: Context) -> Tile:
    from bounceback.breakdowns.models import Breakdown

    live = Breakdown.objects.filter(
        status__in=[Breakdown.Status.DECLARED, Breakdown.Status.RECOVERING]
    ).order_by("-pk")
    found = list(live.values("pk", "reference", "title", "status")[:10])
    counts: dict[int, dict[str, int]] = {
        r["breakdown_id"]: {"cases": r["cases"], "open": r["open"]}
        for r in Case.objects.filter(breakdown_id__in=[b["pk"] for b in found])
        .filter(ctx.filters.case_match())
        .values("breakdown_id")
        .annotate(cases=Count("pk"), open=Count("pk", filter=~Q(status=Case.Status.CLOSED)))
        .order_by()
    }
    inbox = reverse("cases:inbox")
    rows = [
        TileRow(
            b["reference"] or str(b["pk"]),
            f"{b['reference']} {b['title']}".strip(),
            {
                "open_cases": counts.get(b["pk"], {}).get("open", 0),
                "cases": counts.get(b["pk"], {}).get("cases", 0),
            },
            f"{inbox}?view=all&breakdown={b['reference']}",
        )
        for b in found
    ]
    total = live.count()
    return Tile(
        name="breakdowns",
        title="Open breakdowns",
        headline=f"{total} open breakdown{'s' if total != 1 else ''}",
        columns=[("open_cases", "Open cases", "count"), ("cases", "All cases", "count")],
        rows=rows,
        chart="bars",
        headline_href=reverse("breakdowns:list"),
    )


def _breakdown_cases(ctx: Context, key: str) -> QuerySet[Case]:
    return Case.objects.filter(breakdown__reference=key).filter(ctx.filters.case_match())


@dataclass(frozen=True)
class TileSpec:
    title: str
    compute: Callable[[Context], Tile]
    drill: Callable[[Context, str], QuerySet[Case]]


def _drill_my_urgent(ctx: Context, key: str) -> QuerySet[Case]:
    if key == "all":
        return _mine(ctx).filter(next_due_at__lte=ctx.now + DUE_SOON)
    return _mine(ctx).filter(_urgent_match(key, ctx.now))


def _drill_breaches(ctx: Context, key: str) -> QuerySet[Case]:
    rows = _team_open(ctx).filter(breach_count__gt=0)
    if key == "all":
        return rows
    if key == "none":
        return rows.filter(assignee__isnull=True)
    if not key.isdigit():
        raise ValidationFailed("key must be a person's id, none or all", field="key")
    return rows.filter(assignee_id=int(key))


def _drill_unassigned(ctx: Context, key: str) -> QuerySet[Case]:
    rows = _team_open(ctx).filter(assignee__isnull=True)
    if key == "all":
        return rows
    if key not in Severity.values:
        raise ValidationFailed(f"no severity {key!r}", field="key")
    return rows.filter(severity=key)


def _drill_approvals(ctx: Context, key: str) -> QuerySet[Case]:
    waiting = _approvals(ctx)
    if key == "overdue":
        waiting = waiting.filter(due_at__lte=ctx.now)
    elif key != "all":
        raise ValidationFailed(f"no figure {key!r} on this tile", field="key")
    return Case.objects.filter(pk__in=waiting.values("grant__case_id"))


TILES: dict[str, TileSpec] = {
    "my_urgent": TileSpec("Your cases that need you", tile_my_urgent, _drill_my_urgent),
    "my_satisfaction": TileSpec(
        "How your customers felt",
        lambda ctx: _satisfaction(ctx, "my_satisfaction", True),
        lambda ctx, key: _satisfaction_cases(ctx, key, True),
    ),
    "team_breaches": TileSpec("Missed targets", tile_team_breaches, _drill_breaches),
    "unassigned": TileSpec("Unassigned", tile_unassigned, _drill_unassigned),
    "approvals": TileSpec("Approvals waiting", tile_approvals, _drill_approvals),
    "on_time": TileSpec("Steps done on time", tile_on_time, _on_time_cases),
    "first_response": TileSpec("First response time", tile_first_response, _first_response_cases),
    "time_to_fix": TileSpec("Time to fix", tile_time_to_fix, _time_to_fix_cases),
    "satisfaction": TileSpec(
        "Satisfaction and would return",
        lambda ctx: _satisfaction(ctx, "satisfaction", False),
        lambda ctx, key: _satisfaction_cases(ctx, key, False),
    ),
    "failure_modes": TileSpec("Cases by failure mode", tile_failure_modes, _failure_mode_cases),
    "money": TileSpec("Spend against revenue kept", tile_money, _money_cases),
    "playbook_coverage": TileSpec(
        "Playbook coverage",
        tile_playbook_coverage,
        lambda ctx, key: cases_opened(ctx).filter(_coverage_match(key)),
    ),
    "breakdowns": TileSpec("Open breakdowns", tile_breakdowns, _breakdown_cases),
}

# What each role's home shows, in order. Executives and administrators see the managers'.
ROLE_TILES: dict[str, tuple[str, ...]] = {
    "agent": ("my_urgent", "my_satisfaction"),
    "lead": ("team_breaches", "unassigned", "approvals", "my_urgent"),
    "manager": (
        "on_time",
        "first_response",
        "time_to_fix",
        "satisfaction",
        "failure_modes",
        "money",
        "playbook_coverage",
        "breakdowns",
    ),
}


def dashboard_kind(role: str) -> str:
    if role in ("agent", "lead"):
        return role
    return "manager"


def tiles_for(kind: str) -> tuple[str, ...]:
    if kind not in ROLE_TILES:
        raise NotFound(f"no dashboard {kind!r}; dashboards: {', '.join(ROLE_TILES)}")
    return ROLE_TILES[kind]


def tile_compute(
    *, name: str, filters: DashboardFilters, user: User | None, now: datetime | None = None
) -> Tile:
    spec = TILES.get(name)
    if spec is None:
        raise NotFound(f"no tile {name!r}; tiles: {', '.join(TILES)}")
    return spec.compute(Context(filters=filters, user=user, now=now or timezone.now()))


def dashboard_tiles(
    *, kind: str, filters: DashboardFilters, user: User | None, now: datetime | None = None
) -> list[Tile]:
    """Every tile of a role's dashboard, computed with one clock reading."""
    ctx = Context(filters=filters, user=user, now=now or timezone.now())
    return [TILES[name].compute(ctx) for name in tiles_for(kind)]


def tile_cases(
    *,
    name: str,
    key: str,
    filters: DashboardFilters,
    user: User | None,
    now: datetime | None = None,
) -> QuerySet[Case]:
    """The cases behind one figure of a tile, by the same conditions that counted them."""
    spec = TILES.get(name)
    if spec is None:
        raise NotFound(f"no tile {name!r}; tiles: {', '.join(TILES)}")
    ctx = Context(filters=filters, user=user, now=now or timezone.now())
    key = (key or "all").strip()[:60]
    return spec.drill(ctx, key)


KIND_ORDER = ("agent", "lead", "manager")


def kinds_allowed(user: Any) -> tuple[str, ...]:
    """The dashboards a person may open: their own role's and those below it."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ()
    if not user.has_perm("cases.view_case"):
        return ()
    own = "manager" if user.is_superuser else dashboard_kind(getattr(user, "role", "agent"))
    return KIND_ORDER[: KIND_ORDER.index(own) + 1]


def tile_allowed(user: Any, name: str) -> bool:
    return any(name in ROLE_TILES[kind] for kind in kinds_allowed(user))
