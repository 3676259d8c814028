"""Does recovery pay? Customers grouped by how their failure went, and what they did next.

We measure behaviour, not intentions: whether a customer bought or booked
again after their failure, how soon, and how much, from our own
transactions. Each customer counts once, by the first case they had in the
period (their "failure"), and falls into one cohort:

- recovered and satisfied: fixed, and the follow-up answer was "satisfied";
- recovered but not satisfied: fixed, and the answer was "not satisfied";
- not recovered: never fixed, or fixed with no follow-up answer;
- never failed: customers with no case at all, each matched to a failed
  customer on tenure and spend before that customer's failure, and watched
  from the same day, so the comparison is like with like.

A case still open and younger than `TOO_EARLY` is left out (too early to
tell) and counted apart. Only transactions in the installation's currency
count; the one that failed is not a return.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from bounceback.cases.models import Case, RecoveryPolicy
from bounceback.customers.models import Customer
from bounceback.funds.models import Grant
from bounceback.loyalty.statistics import (
    Mean,
    Proportion,
    SurvivalStep,
    kaplan_meier,
    mean,
    median_time,
    proportion,
)
from bounceback.segments.models import SegmentMembership
from bounceback.transactions.models import Transaction

RETURN_WINDOWS = (30, 90, 180)
# How far before and after the failure spend is compared, at the most.
SPEND_WINDOW_DAYS = 180
# A customer watched for less than this after their failure has no "spend after" yet.
MIN_SPEND_DAYS = 30
TOO_EARLY = timedelta(days=30)

RECOVERED_SATISFIED = "recovered_satisfied"
RECOVERED_UNSATISFIED = "recovered_unsatisfied"
NOT_RECOVERED = "not_recovered"
NEVER_FAILED = "never_failed"
COHORTS: dict[str, str] = {
    RECOVERED_SATISFIED: "Recovered, satisfied",
    RECOVERED_UNSATISFIED: "Recovered, not satisfied",
    NOT_RECOVERED: "Not recovered",
    NEVER_FAILED: "Never failed (matched)",
}
FAILED_COHORTS = (RECOVERED_SATISFIED, RECOVERED_UNSATISFIED, NOT_RECOVERED)


@dataclass(frozen=True)
class Reference:
    """A published figure drawn beside ours, with where it comes from."""

    value: float
    label: str
    source: str


# Return (repurchase) rates from the research the product grew from.
REFERENCES = (
    Reference(
        0.70,
        "Complaint resolved in the customer's favour: 70% do business again",
        "Lee Resources, quoted in seeds/003 (Learn from the past)",
    ),
    Reference(
        0.82,
        "Major problem resolved quickly: 82% would buy again",
        "TARP (Technical Assistance Research Programs), complaint-handling studies",
    ),
    Reference(
        0.54,
        "Major problem resolved: 54% would buy again",
        "TARP (Technical Assistance Research Programs), complaint-handling studies",
    ),
    Reference(
        0.09,
        "Major problem never complained about: 9% would buy again",
        "TARP (Technical Assistance Research Programs), complaint-handling studies",
    ),
)


@dataclass(frozen=True)
class Watched:
    """One customer watched from one day: their failure's, or their match's."""

    customer_id: int
    since: datetime
    cohort: str
    case_id: int | None = None
    reference: str = ""
    skip_transaction_id: int | None = None
    fast: bool | None = None
    site: str = ""
    failure_mode: str = ""
    open_now: bool = False


@dataclass
class CohortFigures:
    key: str
    label: str
    customers: int
    returned: dict[int, Proportion]
    spend_before: Mean
    spend_after: Mean
    curve: list[SurvivalStep]
    median_days_to_return: float | None


@dataclass(frozen=True)
class SplitRow:
    dimension: str
    value: str
    customers: int
    returned_30: Proportion
    returned_90: Proportion


@dataclass(frozen=True)
class Money:
    currency: str
    recovery_cost: Decimal
    revenue_kept: Decimal | None
    revenue_at_risk: Decimal
    customers_at_risk: int
    explanation: str


@dataclass
class LoyaltyReport:
    since: datetime
    until: datetime
    now: datetime
    currency: str
    cohorts: list[CohortFigures]
    splits: list[SplitRow]
    money: Money
    too_early: int
    references: tuple[Reference, ...] = REFERENCES
    # Each cohort's customers and when they next bought (None: not yet).
    members: dict[str, list[tuple[Watched, datetime | None]]] = field(default_factory=dict)

    def cohort(self, key: str) -> CohortFigures:
        return next(c for c in self.cohorts if c.key == key)


@dataclass(frozen=True)
class Filters:
    site: str = ""
    segment: str = ""
    failure_mode: int | None = None


class _Purchases:
    """Each watched customer's purchases in time order, and what they tell."""

    def __init__(self, rows: Iterable[tuple[int, int, datetime, Decimal]]) -> None:
        self.at: dict[int, list[datetime]] = defaultdict(list)
        self.ids: dict[int, list[int]] = defaultdict(list)
        self.amount: dict[int, list[float]] = defaultdict(list)
        for customer_id, txn_id, at, amount in rows:
            self.at[customer_id].append(at)
            self.ids[customer_id].append(txn_id)
            self.amount[customer_id].append(float(amount))

    def first(self, customer_id: int) -> datetime | None:
        times = self.at.get(customer_id)
        return times[0] if times else None

    def next_after(self, w: Watched) -> datetime | None:
        times = self.at.get(w.customer_id, [])
        ids = self.ids.get(w.customer_id, [])
        i = bisect.bisect_right(times, w.since)
        while i < len(times):
            if ids[i] != w.skip_transaction_id:
                return times[i]
            i += 1
        return None

    def spend(self, customer_id: int, start: datetime, end: datetime) -> float:
        times = self.at.get(customer_id, [])
        lo = bisect.bisect_left(times, start)
        hi = bisect.bisect_left(times, end)
        return sum(self.amount[customer_id][lo:hi]) if hi > lo else 0.0


def loyalty_report(
    *,
    since: datetime,
    until: datetime,
    filters: Filters | None = None,
    now: datetime | None = None,
) -> LoyaltyReport:
    """The loyalty figures for customers whose first case in [since, until) matches the filters.

    Reads only; a handful of queries whatever the number of customers (the
    work is done in memory over one pass of their transactions).
    """
    now = now or timezone.now()
    filters = filters or Filters()
    failed, too_early = _failures(since=since, until=until, filters=filters, now=now)
    controls = _control_ids(filters=filters)
    purchases = _purchases([w.customer_id for w in failed] + controls, now=now)
    matched = _match_controls(failed, controls, purchases)
    members: dict[str, list[Watched]] = {key: [] for key in COHORTS}
    for w in failed + matched:
        members[w.cohort].append(w)
    cohorts = [_cohort_figures(key, members[key], purchases, now=now) for key in COHORTS]
    return LoyaltyReport(
        since=since,
        until=until,
        now=now,
        currency=settings.BOUNCEBACK_CURRENCY,
        cohorts=cohorts,
        splits=_splits(failed, purchases, now=now),
        money=_money(failed, cohorts, purchases, since=since, until=until, now=now),
        too_early=too_early,
        members={
            key: [(w, purchases.next_after(w)) for w in watched] for key, watched in members.items()
        },
    )


@dataclass(frozen=True)
class MemberRow:
    customer_id: int
    name: str
    case_id: int | None
    reference: str
    since: datetime
    returned_at: datetime | None
    days: float | None


def cohort_rows(report: LoyaltyReport, key: str) -> list[MemberRow]:
    """A cohort's customers with their names, failure and return: the figures' drill-down."""
    members = report.members.get(key, [])
    names = dict(
        Customer.objects.filter(id__in={w.customer_id for w, _ in members}).values_list(
            "id", "name"
        )
    )
    return [
        MemberRow(
            customer_id=w.customer_id,
            name=names.get(w.customer_id, f"Customer {w.customer_id}"),
            case_id=w.case_id,
            reference=w.reference,
            since=w.since,
            returned_at=back,
            days=None if back is None else (back - w.since).total_seconds() / 86400,
        )
        for w, back in sorted(members, key=lambda m: m[0].since)
    ]


def _failures(
    *, since: datetime, until: datetime, filters: Filters, now: datetime
) -> tuple[list[Watched], int]:
    cases = Case.objects.real().filter(created_at__gte=since, created_at__lt=until)
    if filters.segment:
        cases = cases.filter(
            Exists(
                SegmentMembership.objects.filter(
                    customer=OuterRef("customer"), segment__slug=filters.segment
                )
            )
        )
    fix_minutes = dict(RecoveryPolicy.objects.values_list("severity", "fix_minutes"))
    rows = cases.order_by("customer_id", "created_at", "id").values_list(
        "id",
        "reference",
        "customer_id",
        "created_at",
        "fixed_at",
        "satisfied",
        "status",
        "severity",
        "timer_percent",
        "site__code",
        "failure_mode_id",
        "failure_mode__title",
        "transaction_id",
    )
    failed: list[Watched] = []
    too_early = 0
    seen: set[int] = set()
    for (
        case_id,
        reference,
        customer_id,
        created,
        fixed,
        satisfied,
        status,
        severity,
        percent,
        site,
        mode_id,
        mode_name,
        txn_id,
    ) in rows:
        if customer_id in seen:
            continue
        seen.add(customer_id)
        # Filters apply to the failure itself, not to any case of the customer's.
        if filters.site and site != filters.site:
            continue
        if filters.failure_mode is not None and mode_id != filters.failure_mode:
            continue
        is_open = status != Case.Status.CLOSED
        if is_open and now - created < TOO_EARLY:
            too_early += 1
            continue
        if fixed is not None and satisfied is True:
            cohort = RECOVERED_SATISFIED
        elif fixed is not None and satisfied is False:
            cohort = RECOVERED_UNSATISFIED
        else:
            cohort = NOT_RECOVERED
        target = timedelta(minutes=fix_minutes.get(severity, 20) * percent / 100)
        failed.append(
            Watched(
                customer_id=customer_id,
                since=created,
                cohort=cohort,
                case_id=case_id,
                reference=reference or f"#{case_id}",
                skip_transaction_id=txn_id,
                fast=None if fixed is None else fixed - created <= target,
                site=site or "",
                failure_mode=mode_name or "",
                open_now=is_open,
            )
        )
    return failed, too_early


def _control_ids(*, filters: Filters) -> list[int]:
    never = Customer.objects.real().filter(~Exists(Case.objects.filter(customer=OuterRef("pk"))))
    if filters.segment:
        never = never.filter(segment_memberships__segment__slug=filters.segment)
    return list(never.values_list("id", flat=True))


def _purchases(customer_ids: Sequence[int], *, now: datetime) -> _Purchases:
    kept = Transaction.objects.counts_towards_value().filter(
        currency=settings.BOUNCEBACK_CURRENCY, occurred_at__lte=now
    )
    rows: list[tuple[int, int, datetime, Decimal]] = []
    ids = sorted(set(customer_ids))
    # In slices, so the IN list stays within every database's parameter limit.
    for start in range(0, len(ids), 5000):
        rows += kept.filter(customer_id__in=ids[start : start + 5000]).values_list(
            "customer_id", "id", "occurred_at", "amount"
        )
    rows.sort(key=lambda r: (r[0], r[2], r[1]))
    return _Purchases(rows)


def _features(purchases: _Purchases, customer_id: int, at: datetime) -> tuple[float, float]:
    """Tenure in days and spend in the window before `at`, on a log scale."""
    first = purchases.first(customer_id)
    tenure = max((at - first).total_seconds() / 86400, 0.0) if first and first < at else 0.0
    spent = purchases.spend(customer_id, at - timedelta(days=SPEND_WINDOW_DAYS), at)
    return math.log1p(tenure), math.log1p(max(spent, 0.0))


def _match_controls(
    failed: Sequence[Watched], controls: Sequence[int], purchases: _Purchases
) -> list[Watched]:
    """For each failed customer, the never-failed customer most like them the day they failed.

    Nearest neighbour on (log tenure, log spend over the last 180 days), both
    measured on the failure's day; with replacement, as the pool of customers
    who never failed can be smaller than the failed. Only customers who had
    bought something by that day are candidates.
    """
    if not failed or not controls:
        return []
    # Failures in the same week share one measurement of the pool, so matching
    # costs a pass over the pool per week rather than per failed customer.
    by_week: dict[datetime, list[Watched]] = defaultdict(list)
    for w in failed:
        by_week[
            w.since.replace(hour=0, minute=0, second=0, microsecond=0)
            - timedelta(days=w.since.weekday())
        ].append(w)
    matched: list[Watched] = []
    for week, members in sorted(by_week.items()):
        pool = [c for c in controls if (f := purchases.first(c)) is not None and f < week]
        if not pool:
            continue
        grid = np.array([_features(purchases, c, week) for c in pool])
        scale = grid.std(axis=0)
        scale[scale == 0] = 1.0
        for w in members:
            target = np.array(_features(purchases, w.customer_id, w.since))
            distance = (((grid - target) / scale) ** 2).sum(axis=1)
            best = pool[int(distance.argmin())]
            matched.append(Watched(customer_id=best, since=w.since, cohort=NEVER_FAILED))
    return matched


def _returns(
    members: Sequence[Watched], purchases: _Purchases, *, now: datetime
) -> tuple[dict[int, Proportion], list[float], list[bool]]:
    counts = {days: [0, 0] for days in RETURN_WINDOWS}
    durations: list[float] = []
    observed: list[bool] = []
    for w in members:
        back = purchases.next_after(w)
        for days, tally in counts.items():
            if w.since + timedelta(days=days) <= now:
                tally[1] += 1
                tally[0] += back is not None and back <= w.since + timedelta(days=days)
        end = back or now
        durations.append(max((end - w.since).total_seconds() / 86400, 0.0))
        observed.append(back is not None)
    return {d: proportion(k, n) for d, (k, n) in counts.items()}, durations, observed


def _spend_per_30_days(
    members: Sequence[Watched], purchases: _Purchases, *, now: datetime
) -> tuple[list[float], list[float]]:
    before: list[float] = []
    after: list[float] = []
    window = timedelta(days=SPEND_WINDOW_DAYS)
    for w in members:
        first = purchases.first(w.customer_id)
        if first is not None and first < w.since:
            days = min((w.since - first).total_seconds() / 86400, SPEND_WINDOW_DAYS)
            days = max(days, MIN_SPEND_DAYS)
            spent = purchases.spend(w.customer_id, w.since - window, w.since)
            before.append(spent / days * 30)
        watched_days = min((now - w.since).total_seconds() / 86400, SPEND_WINDOW_DAYS)
        if watched_days >= MIN_SPEND_DAYS:
            end = w.since + timedelta(days=watched_days)
            spent = purchases.spend(w.customer_id, w.since + timedelta(microseconds=1), end)
            after.append(spent / watched_days * 30)
    return before, after


def _cohort_figures(
    key: str, members: Sequence[Watched], purchases: _Purchases, *, now: datetime
) -> CohortFigures:
    returned, durations, observed = _returns(members, purchases, now=now)
    curve = kaplan_meier(durations, observed) if members else []
    before, after = _spend_per_30_days(members, purchases, now=now)
    return CohortFigures(
        key=key,
        label=COHORTS[key],
        customers=len(members),
        returned=returned,
        spend_before=mean(before),
        spend_after=mean(after),
        curve=curve,
        median_days_to_return=median_time(curve),
    )


def _splits(failed: Sequence[Watched], purchases: _Purchases, *, now: datetime) -> list[SplitRow]:
    """Failed customers' return rates by speed of the fix, segment, site and failure mode."""
    groups: dict[tuple[str, str], list[Watched]] = defaultdict(list)
    segments = _segments_of([w.customer_id for w in failed])
    for w in failed:
        if w.fast is not None:
            speed = "Fixed within the fix target" if w.fast else "Fixed later"
            groups[("Speed", speed)].append(w)
        for name in segments.get(w.customer_id, ["No segment"]):
            groups[("Segment", name)].append(w)
        groups[("Site", w.site or "No site")].append(w)
        groups[("Failure mode", w.failure_mode or "Not set")].append(w)
    rows = []
    for (dimension, value), members in sorted(groups.items()):
        returned, _, _ = _returns(members, purchases, now=now)
        rows.append(
            SplitRow(
                dimension=dimension,
                value=value,
                customers=len(members),
                returned_30=returned[30],
                returned_90=returned[90],
            )
        )
    return rows


def _segments_of(customer_ids: Sequence[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 5000):
        for customer_id, name in SegmentMembership.objects.filter(
            customer_id__in=ids[start : start + 5000]
        ).values_list("customer_id", "segment__name"):
            names[customer_id].append(name)
    return names


def _money(
    failed: Sequence[Watched],
    cohorts: Sequence[CohortFigures],
    purchases: _Purchases,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
) -> Money:
    currency = settings.BOUNCEBACK_CURRENCY
    cost = Grant.objects.filter(
        case__drill__isnull=True,
        case__created_at__gte=since,
        case__created_at__lt=until,
        state=Grant.State.GRANTED,
        currency=currency,
    ).aggregate(total=Sum("value"))["total"] or Decimal("0")
    by_key = {c.key: c for c in cohorts}
    recovered = [w for w in failed if w.cohort in (RECOVERED_SATISFIED, RECOVERED_UNSATISFIED)]
    rec_rate = _pooled_rate(
        [by_key[RECOVERED_SATISFIED].returned[90], by_key[RECOVERED_UNSATISFIED].returned[90]]
    )
    not_rate = by_key[NOT_RECOVERED].returned[90].value
    quarter = timedelta(days=90)
    spend_90 = [purchases.spend(w.customer_id, w.since - quarter, w.since) for w in failed]
    typical = sum(spend_90) / len(spend_90) if spend_90 else 0.0
    kept: Decimal | None = None
    if rec_rate is not None and not_rate is not None:
        kept = _money_value((rec_rate - not_rate) * len(recovered) * typical)
    at_risk = [
        w
        for w in failed
        if (w.open_now or w.cohort != RECOVERED_SATISFIED) and purchases.next_after(w) is None
    ]
    risk = sum(purchases.spend(w.customer_id, w.since - quarter, w.since) for w in at_risk)
    return Money(
        currency=currency,
        recovery_cost=cost,
        revenue_kept=kept,
        revenue_at_risk=_money_value(risk),
        customers_at_risk=len(at_risk),
        explanation=(
            "Revenue kept: the 90-day return rate of recovered customers minus that of "
            "customers not recovered, times the customers recovered, times what a customer "
            "spent in the 90 days before their failure. At risk: what customers not yet "
            "recovered or not satisfied, who have not bought since, spent in the 90 days "
            "before their failure. Cost: gestures granted from the recovery funds on the "
            "period's cases."
        ),
    )


def _pooled_rate(parts: Sequence[Proportion]) -> float | None:
    n = sum(p.n for p in parts)
    return sum(p.k for p in parts) / n if n else None


def _money_value(amount: float) -> Decimal:
    return Decimal(str(round(amount, 2))).quantize(Decimal("0.01"))
