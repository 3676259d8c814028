"""Reads for the discovery page: what came in, what rules did, what is rising."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from bounceback.discovery import spikes
from bounceback.discovery.models import RuleFiring
from bounceback.signals.models import Signal


@dataclass(frozen=True)
class Rising:
    dimension: str
    value: str
    label: str
    counts: list[int]
    last: int
    baseline: float

    @property
    def ratio(self) -> float:
        return self.last / max(self.baseline, 1.0)

    def sparkline(self, width: int = 120, height: int = 24) -> str:
        """SVG polyline points for the counts."""
        top = max(max(self.counts), 1)
        step = width / max(len(self.counts) - 1, 1)
        return " ".join(
            f"{i * step:.1f},{height - 2 - (c / top) * (height - 4):.1f}"
            for i, c in enumerate(self.counts)
        )


def signals_per_source_per_day(*, days: int = 14, now: datetime | None = None) -> dict[str, object]:
    """Counts of signals per source for each of the last `days` days (newest last)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    start = today - timedelta(days=days - 1)
    rows = (
        Signal.objects.filter(occurred_at__date__gte=start)
        .annotate(day=TruncDate("occurred_at"))
        .values("source", "day")
        .annotate(n=Count("id"))
    )
    dates = [start + timedelta(days=i) for i in range(days)]
    table: dict[str, list[int]] = {}
    for row in rows:
        counts = table.setdefault(row["source"], [0] * days)
        index = (row["day"] - start).days
        if 0 <= index < days:
            counts[index] += row["n"]
    return {"dates": dates, "sources": sorted(table.items())}


def rule_outcomes(*, days: int = 30, now: datetime | None = None) -> list[dict[str, object]]:
    """Firings per rule and outcome over the last `days` days."""
    now = now or timezone.now()
    rows = (
        RuleFiring.objects.filter(at__gte=now - timedelta(days=days))
        .values("rule__name", "outcome")
        .annotate(n=Count("id"))
        .order_by("rule__name", "outcome")
    )
    labels = dict(RuleFiring.Outcome.choices)
    return [{**row, "label": labels.get(str(row["outcome"]), row["outcome"])} for row in rows]


def rising(*, days: int = 28, top: int = 8, now: datetime | None = None) -> list[Rising]:
    """The series whose last day is furthest above their baseline, with sparklines."""
    from bounceback.discovery.services import value_label

    now = now or timezone.now()
    end = spikes._floor(now, "day")
    start = end - timedelta(days=days)
    known = spikes.first_recorded() or start
    series_list = spikes.series_counts(since=start, until=end, bucket="day")
    out = []
    for series in series_list:
        buckets = [start + timedelta(days=i) for i in range(days)]
        counts = [series.counts.get(b, 0) for b in buckets]
        if sum(counts) < 3:
            continue
        history = spikes._history(series, buckets[-1], timedelta(days=1), known)
        baseline = spikes.baseline_of(history, "day") if len(history) >= 3 else float(counts[-1])
        out.append(
            Rising(
                series.dimension,
                series.value,
                value_label(series.dimension, series.value),
                counts,
                counts[-1],
                round(baseline, 1),
            )
        )
    out.sort(key=lambda r: (r.ratio, r.last), reverse=True)
    return out[:top]
