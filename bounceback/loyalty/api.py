"""The loyalty API: the cohorts, their return rates, curves and money, as the page shows them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router

from bounceback.api.auth import require_scope
from bounceback.api.schemas import ERRORS, Schema
from bounceback.errors import NotFound
from bounceback.loyalty.periods import loyalty_period
from bounceback.loyalty.selectors import (
    COHORTS,
    CohortFigures,
    Filters,
    LoyaltyReport,
    cohort_rows,
    loyalty_report,
)
from bounceback.loyalty.statistics import Mean, Proportion

router = Router(tags=["loyalty"])


class LoyaltyQuery(Schema):
    since: date | None = Field(None, description="First day of failures (default: a year ago)")
    until: date | None = Field(None, description="Last day of failures, inclusive (default: today)")
    site: str = Field("", max_length=60, description="A site code: failures at that site only")
    segment: str = Field("", max_length=60, description="A segment slug: its customers only")
    failure_mode: int | None = Field(
        None, ge=1, le=2**63 - 1, description="A failure mode id: failures of that mode only"
    )


class LoyaltyRateOut(Schema):
    """k of n customers watched long enough, with the 95% Wilson interval (null when n is 0)."""

    days: int
    returned: int
    watched: int
    rate: float | None
    low: float | None
    high: float | None


class LoyaltyMeanOut(Schema):
    customers: int
    mean: float | None
    low: float | None
    high: float | None


class LoyaltySurvivalStepOut(Schema):
    day: float
    at_risk: int
    returned: int
    censored: int
    not_yet_back: float
    low: float
    high: float


class LoyaltyCohortOut(Schema):
    key: str
    label: str
    customers: int
    returned: list[LoyaltyRateOut]
    spend_per_30_days_before: LoyaltyMeanOut
    spend_per_30_days_after: LoyaltyMeanOut
    median_days_to_return: float | None
    curve: list[LoyaltySurvivalStepOut] = Field(
        ..., description="Kaplan-Meier: share not yet back, censoring customers still watched"
    )


class LoyaltySplitOut(Schema):
    dimension: str
    value: str
    customers: int
    returned_30: LoyaltyRateOut
    returned_90: LoyaltyRateOut


class LoyaltyMoneyOut(Schema):
    currency: str
    recovery_cost: Decimal
    revenue_kept: Decimal | None
    revenue_at_risk: Decimal
    customers_at_risk: int
    explanation: str


class LoyaltyReferenceOut(Schema):
    value: float
    label: str
    source: str


class LoyaltyReportOut(Schema):
    since: datetime
    until: datetime
    currency: str
    too_early: int = Field(..., description="Customers left out: case open and under 30 days old")
    cohorts: list[LoyaltyCohortOut]
    splits: list[LoyaltySplitOut]
    money: LoyaltyMoneyOut
    references: list[LoyaltyReferenceOut]


class LoyaltyMemberOut(Schema):
    customer_id: int
    name: str
    case_id: int | None
    reference: str
    since: datetime
    returned_at: datetime | None


def _rate(days: int, p: Proportion) -> dict[str, object]:
    return {
        "days": days,
        "returned": p.k,
        "watched": p.n,
        "rate": p.value,
        "low": p.low,
        "high": p.high,
    }


def _mean(m: Mean) -> dict[str, object]:
    return {"customers": m.n, "mean": m.value, "low": m.low, "high": m.high}


def _cohort(c: CohortFigures) -> dict[str, object]:
    return {
        "key": c.key,
        "label": c.label,
        "customers": c.customers,
        "returned": [_rate(days, p) for days, p in c.returned.items()],
        "spend_per_30_days_before": _mean(c.spend_before),
        "spend_per_30_days_after": _mean(c.spend_after),
        "median_days_to_return": c.median_days_to_return,
        "curve": [
            {
                "day": s.day,
                "at_risk": s.at_risk,
                "returned": s.events,
                "censored": s.censored,
                "not_yet_back": s.survival,
                "low": s.low,
                "high": s.high,
            }
            for s in c.curve
        ],
    }


def _report(query: LoyaltyQuery) -> LoyaltyReport:
    since, until = loyalty_period(since=query.since, until=query.until)
    filters = Filters(site=query.site, segment=query.segment, failure_mode=query.failure_mode)
    return loyalty_report(since=since, until=until, filters=filters)


@router.get(
    "/",
    response={200: LoyaltyReportOut, **ERRORS},
    summary="Loyalty after recovery: return rates, time to return and money, by cohort",
)
def loyalty(request: HttpRequest, query: Query[LoyaltyQuery]) -> dict[str, object]:
    require_scope(request, "loyalty:read")
    report = _report(query)
    return {
        "since": report.since,
        "until": report.until,
        "currency": report.currency,
        "too_early": report.too_early,
        "cohorts": [_cohort(c) for c in report.cohorts],
        "splits": [
            {
                "dimension": r.dimension,
                "value": r.value,
                "customers": r.customers,
                "returned_30": _rate(30, r.returned_30),
                "returned_90": _rate(90, r.returned_90),
            }
            for r in report.splits
        ],
        "money": vars(report.money),
        "references": [vars(r) for r in report.references],
    }


@router.get(
    "/cohorts/{key}",
    response={200: list[LoyaltyMemberOut], **ERRORS},
    summary="The customers behind a cohort's figures (drill-down)",
)
def cohort(request: HttpRequest, key: str, query: Query[LoyaltyQuery]) -> list[dict[str, object]]:
    require_scope(request, "loyalty:read")
    if key not in COHORTS:
        raise NotFound(f"no cohort {key!r}; cohorts: {', '.join(COHORTS)}")
    return [vars(row) for row in cohort_rows(_report(query), key)]
