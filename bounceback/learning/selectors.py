"""Reads of the learning app: a case's words, and the past cases most like it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.funds.models import Grant
from bounceback.learning import index, text
from bounceback.learning.models import CaseText, Problem, Theme
from bounceback.transactions.models import Transaction

SIMILAR_LIMIT = 5


def case_words(case: Case) -> str:
    """The text a case is compared by: what the customer said went wrong."""
    parts = (case.summary, case.description, case.what_went_wrong)
    return "\n".join(p for p in parts if p)


@dataclass
class Gesture:
    kind: str
    value: Decimal
    currency: str


@dataclass
class SimilarCase:
    """A past case like the one in hand: what was done, and how it ended."""

    case: Case
    similarity: float
    apologised: bool
    apology_score: int | None
    fix: str
    gestures: list[Gesture] = field(default_factory=list)
    satisfied: bool | None = None
    will_return: bool | None = None
    follow_up_comment: str = ""
    what_was_done: str = ""
    root_cause: str = ""

    @property
    def outcome(self) -> str:
        """How it ended, in a few words a person reads at a glance."""
        if self.satisfied is None:
            return "closed, no follow-up answer" if not self.case.is_open else "still open"
        if self.satisfied:
            return "satisfied, will come back" if self.will_return else "satisfied"
        return "unhappy, will not come back" if self.will_return is False else "unhappy"


def _query(case: Case, current: index.Index) -> np.ndarray:
    _, rows = index.full_rows(current, [case.pk])
    if len(rows):
        return np.asarray(rows[0])
    # Not vectorised yet (opened in the last seconds): make its vector now.
    return index.query_row(current, text.vectors([case_words(case)])[0])


def similar_cases(*, case: Case, limit: int = SIMILAR_LIMIT) -> list[SimilarCase]:
    """The `limit` past cases most like `case`, best first (three queries after the index)."""
    current = index.current()
    found = index.nearest(current, _query(case, current), limit, exclude={case.pk})
    if not found:
        return []
    grants = Grant.objects.in_effect().only("case_id", "kind", "value", "currency")
    rows = Case.objects.select_related("failure_mode").prefetch_related(
        Prefetch("grants", queryset=grants, to_attr="gestures_made")
    )
    by_id = {c.pk: c for c in rows.filter(pk__in=[pk for pk, _ in found])}
    out = []
    for pk, score in found:
        other = by_id.get(pk)
        if other is None:
            continue
        out.append(
            SimilarCase(
                case=other,
                similarity=round(score, 4),
                apologised=other.apologised_at is not None,
                apology_score=other.apology_score,
                fix=other.fix_summary,
                gestures=[
                    Gesture(kind=g.kind, value=g.value, currency=g.currency)
                    for g in other.gestures_made  # type: ignore[attr-defined]
                ],
                satisfied=other.satisfied,
                will_return=other.will_return,
                follow_up_comment=other.follow_up_comment,
                what_was_done=other.what_was_done,
                root_cause=other.root_cause,
            )
        )
    return out


# --- Themes -------------------------------------------------------------------------------


@dataclass
class ThemeTrend:
    """A theme over time and where it happens: weekly counts, by site, by failure mode."""

    weeks: list[tuple[date, int]]
    by_site: list[tuple[str, int]]
    by_failure_mode: list[tuple[str, int]]


def case_theme_fit(*, case: Case) -> tuple[Theme, float | None] | None:
    """The case's theme and how close it sits to the centre (None when it has none)."""
    row = CaseText.objects.filter(case=case).select_related("theme").first()
    if row is None or row.theme is None:
        return None
    return row.theme, row.theme_fit


def theme_cases(*, theme: Theme) -> QuerySet[Case]:
    """The theme's cases, newest first."""
    return Case.objects.filter(text_vector__theme=theme).select_related(
        "customer", "site", "failure_mode"
    )


def theme_representatives(*, theme: Theme, limit: int = 3) -> list[Case]:
    """The cases closest to the theme's centre: what the theme is about, in customers' words."""
    ids = list(
        CaseText.objects.filter(theme=theme)
        .order_by("-theme_fit")
        .values_list("case_id", flat=True)[:limit]
    )
    found = {c.pk: c for c in Case.objects.filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]


def theme_trend(*, theme: Theme, weeks: int = 12, now: datetime | None = None) -> ThemeTrend:
    """Cases of the theme per week (oldest first) and by site and failure mode."""
    now = now or timezone.now()
    start = (now - timedelta(weeks=weeks - 1)).date()
    start -= timedelta(days=start.weekday())
    cases = theme_cases(theme=theme)
    per_week = dict(
        cases.filter(created_at__date__gte=start)
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(n=Count("id"))
        .values_list("week", "n")
    )
    counted = {(w.date() if isinstance(w, datetime) else w): n for w, n in per_week.items()}
    series = [
        (start + timedelta(weeks=i), counted.get(start + timedelta(weeks=i), 0))
        for i in range(weeks)
    ]
    by_site = [
        (name or "No site", n)
        for name, n in cases.values("site__name")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("site__name", "n")
    ]
    by_mode = [
        (title or "Not set", n)
        for title, n in cases.values("failure_mode__title")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("failure_mode__title", "n")
    ]
    return ThemeTrend(weeks=series, by_site=by_site, by_failure_mode=by_mode)


# --- Duplicates ---------------------------------------------------------------------------

# Two open cases of one customer at least this alike (combined cosine) are
# probably one failure told twice. Only the same customer's open cases are
# compared, so the bar is low: a complaint told again in other words scores
# about 0.3 (words 0.2, meaning 0.6) and a different one about 0. Not
# measured on labelled duplicates: there are none to measure on yet.
DUPLICATE_SIMILARITY = 0.25
SAME_TEXT_WINDOW = timedelta(days=30)


@dataclass
class Duplicate:
    case: Case
    reason: str  # "same_text" or "same_customer"
    similarity: float


def duplicate_candidates(*, case: Case) -> list[Duplicate]:
    """Cases this one probably repeats: the same text within 30 days (any customer,
    any channel), or an open case of the same customer that reads alike."""
    if case.merged_into_id is not None:
        return []
    words = case_words(case)
    digest = CaseText.digest_of(words)
    same_text = list(
        Case.objects.filter(
            text_vector__digest=digest,
            merged_into__isnull=True,
            created_at__gte=case.created_at - SAME_TEXT_WINDOW,
        )
        .exclude(pk=case.pk)
        .order_by("created_at")[:5]
    )
    found = [Duplicate(case=c, reason="same_text", similarity=1.0) for c in same_text]
    seen = {c.pk for c in same_text} | {case.pk}
    open_ones = list(
        Case.objects.open()
        .filter(customer_id=case.customer_id, merged_into__isnull=True)
        .exclude(pk__in=seen)
        .values_list("pk", flat=True)[:50]
    )
    if open_ones:
        current = index.current()
        query = _query(case, current)
        ids, rows = index.full_rows(current, open_ones)
        if len(ids):
            scores = rows @ query
            alike = {int(i): float(s) for i, s in zip(ids, scores, strict=True)}
            close = [pk for pk, s in alike.items() if s >= DUPLICATE_SIMILARITY]
            for other in Case.objects.filter(pk__in=close):
                found.append(
                    Duplicate(
                        case=other, reason="same_customer", similarity=round(alike[other.pk], 4)
                    )
                )
    return sorted(found, key=lambda d: -d.similarity)


# --- Problems -----------------------------------------------------------------------------


def problem_cases(*, problem: Problem) -> QuerySet[Case]:
    """Cases that match the problem: linked by hand, of its theme, or of its failure mode."""
    match = Q(problem_links__problem=problem)
    if problem.theme_id:
        match |= Q(text_vector__theme_id=problem.theme_id)
    if problem.failure_mode_id:
        match |= Q(failure_mode_id=problem.failure_mode_id)
    # A drill's cases are practice: never a recurrence of a real problem.
    return Case.objects.real().filter(match, merged_into__isnull=True).distinct()


def problems_for_case(*, case: Case) -> list[Problem]:
    """Problems not yet verified fixed that this case matches (to show their workaround)."""
    theme_id = CaseText.objects.filter(case=case).values_list("theme_id", flat=True).first()
    match = Q(links__case=case)
    if theme_id:
        match |= Q(theme_id=theme_id)
    if case.failure_mode_id:
        match |= Q(failure_mode_id=case.failure_mode_id)
    return list(
        Problem.objects.filter(match)
        .exclude(status=Problem.Status.VERIFIED_FIXED)
        .distinct()
        .order_by("-created_at")
    )


def volume_between(start: datetime, end: datetime) -> int:
    """Transactions in [start, end): the business's volume the rates are normalised by."""
    return Transaction.objects.filter(occurred_at__gte=start, occurred_at__lt=end).count()


def weekly_rates(
    *, problem: Problem, start: datetime, end: datetime
) -> list[tuple[datetime, int, int]]:
    """(week start, matching cases, transactions) for each 7 days from start to end."""
    out = []
    cases = problem_cases(problem=problem)
    at = start
    while at < end:
        stop = min(at + timedelta(days=7), end)
        n = cases.filter(created_at__gte=at, created_at__lt=stop).count()
        out.append((at, n, volume_between(at, stop)))
        at = stop
    return out


# --- Trends and Pareto ----------------------------------------------------------------------

PARETO_BY = {
    "failure_mode": "failure_mode__title",
    "theme": "text_vector__theme__label",
    "site": "site__name",
    "channel": "channel",
    "product": "transaction__product",
}


@dataclass
class ParetoRow:
    key: str
    cases: int
    previous: int
    share: float  # of this period's cases
    cumulative: float

    @property
    def change(self) -> int:
        return self.cases - self.previous


def pareto(*, by: str, days: int = 30, now: datetime | None = None) -> list[ParetoRow]:
    """Cases of the last `days` by `by`, largest first, with the period before beside them."""
    now = now or timezone.now()
    field_name = PARETO_BY[by]
    start, before = now - timedelta(days=days), now - timedelta(days=2 * days)
    rows = Case.objects.real().filter(merged_into__isnull=True)

    def counted(frm: datetime, to: datetime) -> dict[str, int]:
        found = (
            rows.filter(created_at__gte=frm, created_at__lt=to)
            .values(field_name)
            .annotate(n=Count("id"))
            .values_list(field_name, "n")
        )
        out: dict[str, int] = {}
        for key, n in found:
            label = str(key) if key else "Not set"
            out[label] = out.get(label, 0) + n
        return out

    current, previous = counted(start, now), counted(before, start)
    if by == "theme":
        names = dict(Theme.objects.exclude(name="").values_list("label", "name"))
        current = {names.get(k, k): v for k, v in current.items()}
        previous = {names.get(k, k): v for k, v in previous.items()}
    total = sum(current.values()) or 1
    ordered = sorted(current.items(), key=lambda kv: (-kv[1], kv[0]))
    out, running = [], 0
    for key, n in ordered:
        running += n
        out.append(
            ParetoRow(
                key=key,
                cases=n,
                previous=previous.get(key, 0),
                share=round(n / total, 4),
                cumulative=round(running / total, 4),
            )
        )
    for key, n in previous.items():
        if key not in current:
            out.append(ParetoRow(key=key, cases=0, previous=n, share=0.0, cumulative=1.0))
    return out
