"""Finding spikes: counts of distinct customers per series and bucket, against
each series' own weekday-and-hour baseline.

Counting is one set-based SQL statement per dimension (GROUP BY value and
bucket over cases and signals together), so a scan over millions of rows costs
the database one pass per dimension and Python only the non-empty buckets.

A series is a dimension (category: the failure mode, else the sender's
category or event; site; product; channel) and one of its values, counted in
hourly or daily buckets. Each bucket is judged against the same bucket of the
week in the eight weeks before (Monday 9-10h against earlier Mondays 9-10h; a
daily bucket against earlier Mondays), or, while a series has under three such
weeks of history, against the same hour (or day) of the seven days before. The
baseline is robust: median plus 1.4826 x MAD, so one earlier bad day does not
hide the next. How unusual the count is comes from the Poisson upper tail at
that baseline, a test for counts, not a z-score: 5 against a usual 0 or 1 is
unusual, 2 against 0 is not. Only history after the first recorded row counts:
before it, zero is unknown, not zero.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

DIMENSIONS = ("category", "site", "product", "channel")
BUCKETS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
WEEKS_BACK = 8
# Judging thresholds, per bucket size: the tail probability a count must fall
# under, the fewest distinct customers that can be a spike, the smallest baseline.
ALPHA = {"hour": 1e-5, "day": 1e-4}
MIN_COUNT = {"hour": 4, "day": 5}
FLOOR = {"hour": 0.3, "day": 1.0}
# How far above the median, in units of the series' own spread, a spike must be.
Z_MIN = 4.0


@dataclass(frozen=True)
class Spike:
    dimension: str
    value: str
    bucket: str
    at: datetime
    count: int
    baseline: float
    p_value: float


@dataclass
class Series:
    dimension: str
    value: str
    bucket: str
    counts: dict[datetime, int] = field(default_factory=dict)


def poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed in log space (exact for small k)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    # 1 - P(X <= k-1)
    term = math.exp(-lam)
    cdf = term
    for i in range(1, k):
        term *= lam / i
        cdf += term
    tail = 1.0 - cdf
    if tail > 1e-12:
        return max(tail, 0.0)
    # Far in the tail: sum the upper terms instead (no cancellation).
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1)
    total = 0.0
    for i in range(k, k + 200):
        total += math.exp(log_term)
        log_term += math.log(lam) - math.log(i + 1)
    return total


def _offset_hours(at: datetime) -> int:
    """The business time zone's offset at `at`, whole hours (buckets follow local days)."""
    offset = timezone.localtime(at).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 3600)


def _sql(dimension: str, bucket: str, offset: int) -> str:
    from bounceback.cases.models import Case
    from bounceback.failuremodes.models import FailureMode
    from bounceback.signals.models import Signal

    q = connection.ops.quote_name
    signals, cases, modes = (
        q(Signal._meta.db_table),
        q(Case._meta.db_table),
        q(FailureMode._meta.db_table),
    )
    pg = connection.vendor == "postgresql"
    if pg:
        width = "YYYY-MM-DD HH24" if bucket == "hour" else "YYYY-MM-DD"

        def bucket_of(col: str) -> str:
            return f"to_char({col} + interval '{offset} hours', '{width}')"

        signal_who = "COALESCE(s.customer_id::text, 'a:' || NULLIF(s.author, ''), 's:' || s.id)"
        case_who = "c.customer_id::text"
        site_of = "{}.site_id::text"
    else:
        chars = 13 if bucket == "hour" else 10

        def bucket_of(col: str) -> str:
            return f"substr(datetime({col}, '{offset:+d} hours'), 1, {chars})"

        signal_who = (
            "COALESCE(CAST(s.customer_id AS TEXT), 'a:' || NULLIF(s.author, ''), 's:' || s.id)"
        )
        case_who = "CAST(c.customer_id AS TEXT)"
        site_of = "CAST({}.site_id AS TEXT)"
    signal_value = {
        "category": "COALESCE(NULLIF(s.category, ''), NULLIF(s.event, ''))",
        "site": site_of.format("s"),
        "product": "NULLIF(s.product, '')",
        "channel": "NULLIF(s.channel, '')",
    }[dimension]
    case_value = {
        "category": "COALESCE(fm.title, NULLIF(c.category, ''))",
        "site": site_of.format("c"),
        "product": "NULLIF(c.product, '')",
        "channel": "NULLIF(c.channel, '')",
    }[dimension]
    join = f"LEFT JOIN {modes} fm ON fm.id = c.failure_mode_id" if dimension == "category" else ""
    return (
        "SELECT v, b, COUNT(DISTINCT who) FROM ("  # noqa: S608 (names are ours)
        f"SELECT {signal_value} AS v, {bucket_of('s.occurred_at')} AS b, {signal_who} AS who "
        f"FROM {signals} s WHERE s.occurred_at >= %s AND s.occurred_at < %s "
        "UNION ALL "
        f"SELECT {case_value} AS v, {bucket_of('c.created_at')} AS b, {case_who} AS who "
        f"FROM {cases} c {join} WHERE c.created_at >= %s AND c.created_at < %s AND "
        # A drill's cases are practice: they never make a spike.
        "c.proactive = %s AND c.drill_id IS NULL"
        ") AS e WHERE v IS NOT NULL GROUP BY v, b"
    )


def _parse_bucket(text: str, bucket: str, offset: int) -> datetime:
    fmt = "%Y-%m-%d %H" if bucket == "hour" else "%Y-%m-%d"
    local = datetime.strptime(text, fmt).replace(tzinfo=UTC)
    return local - timedelta(hours=offset)


def series_counts(
    *, since: datetime, until: datetime, bucket: str, dimensions: Iterable[str] = DIMENSIONS
) -> list[Series]:
    """Distinct customers per (dimension, value, bucket) between since and until.

    Cases opened by a breakdown's outreach are left out: they are our own
    contacts, not customers coming to us.
    """
    offset = _offset_hours(until)
    out: list[Series] = []
    with connection.cursor() as cursor:
        for dimension in dimensions:
            cursor.execute(_sql(dimension, bucket, offset), [since, until, since, until, False])
            by_value: dict[str, Series] = {}
            for value, text, count in cursor.fetchall():
                series = by_value.get(str(value))
                if series is None:
                    series = by_value[str(value)] = Series(dimension, str(value), bucket)
                series.counts[_parse_bucket(text, bucket, offset)] = int(count)
            out.extend(by_value.values())
    return out


def first_recorded() -> datetime | None:
    """When the data begins: history before it is unknown, not zero."""
    from bounceback.cases.models import Case
    from bounceback.signals.models import Signal

    firsts = [
        Signal.objects.order_by("occurred_at").values_list("occurred_at", flat=True).first(),
        Case.objects.order_by("created_at").values_list("created_at", flat=True).first(),
    ]
    known = [f for f in firsts if f is not None]
    return min(known) if known else None


def _history(
    series: Series, at: datetime, step: timedelta, known_from: datetime, width: int = 1
) -> list[int]:
    """The same bucket (or run of `width` buckets ending there) in earlier weeks, or
    while there are under three such weeks, on the seven days before."""

    def count(end: datetime) -> int:
        return sum(series.counts.get(end - step * k, 0) for k in range(width))

    week = timedelta(days=7)
    earliest = known_from + step * (width - 1)
    same = [at - week * k for k in range(1, WEEKS_BACK + 1)]
    same = [t for t in same if t >= earliest]
    if len(same) >= 3:
        return [count(t) for t in same]
    day = timedelta(days=1)
    recent = [at - day * k for k in range(1, 8)]
    return [count(t) for t in recent if t >= earliest]


def baseline_of(history: list[int], bucket: str) -> float:
    median = statistics.median(history)
    mad = statistics.median([abs(h - median) for h in history])
    return max(median + 1.4826 * mad, FLOOR[bucket])


def _unusual(count: int, history: list[int], bucket: str) -> tuple[float, float] | None:
    """(baseline, p) when `count` is a spike against `history`, else None.

    Two tests must agree: the Poisson tail at the robust baseline (small counts),
    and a robust distance from the median in units of the larger of the spread
    (1.4826 x MAD) and the Poisson spread, because busy series vary from day to
    day far more than Poisson allows and a count test alone cries wolf on them.
    """
    median = statistics.median(history)
    mad = statistics.median([abs(h - median) for h in history])
    baseline = baseline_of(history, bucket)
    p = poisson_tail(count, baseline)
    spread = max(1.4826 * mad, math.sqrt(max(median, 1.0)), 0.2 * median)
    if p >= ALPHA[bucket] or (count - median) / spread < Z_MIN:
        return None
    return baseline, p


def judge(series: Series, at: datetime, known_from: datetime) -> Spike | None:
    """A spike in the bucket at `at`; hourly series are also judged over the three
    hours ending there, so a surge spread over an afternoon is not missed."""
    step = BUCKETS[series.bucket]
    widths = (1, 3) if series.bucket == "hour" else (1,)
    best: Spike | None = None
    for width in widths:
        count = sum(series.counts.get(at - step * k, 0) for k in range(width))
        if count < MIN_COUNT[series.bucket]:
            continue
        history = _history(series, at, step, known_from, width)
        if len(history) < 3:
            continue
        found = _unusual(count, history, series.bucket)
        if found is None:
            continue
        baseline, p = found
        if best is None or p < best.p_value:
            best = Spike(
                series.dimension, series.value, series.bucket, at, count, round(baseline, 3), p
            )
    return best


def _floor(at: datetime, bucket: str) -> datetime:
    offset = timedelta(hours=_offset_hours(at))
    local = at.astimezone(UTC) + offset
    if bucket == "hour":
        local = local.replace(minute=0, second=0, microsecond=0)
    else:
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local - offset


def scan(
    *,
    since: datetime,
    until: datetime,
    buckets: Iterable[str] = ("day", "hour"),
    dimensions: Iterable[str] = DIMENSIONS,
    known_from: datetime | None = None,
) -> tuple[list[Spike], list[Series]]:
    """Every spike in the complete buckets between since and until, oldest first,
    and the series read (with their history) for evidence and charts."""
    known = known_from or first_recorded()
    if known is None:
        return [], []
    spikes: list[Spike] = []
    all_series: list[Series] = []
    dims = list(dimensions)
    for bucket in buckets:
        step = BUCKETS[bucket]
        start = _floor(since, bucket)
        history_from = start - timedelta(days=7 * WEEKS_BACK)
        series_list = series_counts(since=history_from, until=until, bucket=bucket, dimensions=dims)
        all_series.extend(series_list)
        # Only buckets that have ended are judged: a bucket still filling is not a count yet.
        last = _floor(until, bucket)
        for series in series_list:
            for at in sorted(t for t in series.counts if start <= t and t + step <= until):
                if at >= last + step:
                    continue
                spike = judge(series, at, known)
                if spike is not None:
                    spikes.append(spike)
    spikes.sort(key=lambda s: (s.at, s.dimension, s.value))
    return spikes, all_series


def evidence_of(
    series: Series, spike_at: datetime, *, before: int = 14, after: int = 2
) -> dict[str, Any]:
    """The series around a spike with its baseline, for the chart."""
    step = BUCKETS[series.bucket]
    known = min(series.counts) if series.counts else spike_at
    points = []
    for k in range(-before, after + 1):
        at = spike_at + step * k
        history = _history(series, at, step, known)
        points.append(
            [
                at.isoformat(),
                series.counts.get(at, 0),
                round(baseline_of(history, series.bucket), 2) if len(history) >= 3 else None,
            ]
        )
    return {"points": points}


def who_in(*, dimension: str, value: str, start: datetime, end: datetime) -> set[str]:
    """The distinct customers (or authors) counted in one series between start and end."""
    from django.db.models import Q

    from bounceback.cases.models import Case
    from bounceback.signals.models import Signal

    signals = Signal.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    cases = Case.objects.real().filter(created_at__gte=start, created_at__lt=end, proactive=False)
    if dimension == "site":
        site_id = int(value) if value.isdigit() else -1
        signals, cases = signals.filter(site_id=site_id), cases.filter(site_id=site_id)
    elif dimension == "category":
        signals = signals.filter(Q(category=value) | Q(category="", event=value))
        cases = cases.filter(Q(failure_mode__title=value) | Q(failure_mode=None, category=value))
    else:
        signals = signals.filter(**{dimension: value})
        cases = cases.filter(**{dimension: value})
    who = {
        str(c) if c else (f"a:{a}" if a else f"s:{i}")
        for c, a, i in signals.values_list("customer_id", "author", "id")[:5000]
    }
    who |= {str(c) for c in cases.values_list("customer_id", flat=True)[:5000]}
    return who
