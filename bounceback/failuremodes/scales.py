"""The occurrence scale: what an occurrence score of 1-10 means in cases.

FMEA leaves the meaning of "occurrence 6" to each team; ours is written down
here so that the catalog can compare an estimate with what the cases say.
Each score is a band of expected cases per 30 days (lower bound inclusive,
upper bound exclusive), roughly doubling from one score to the next:

    score  cases per 30 days   in words
      1    under 0.1           less than about once a year
      2    0.1 to 0.25         once or twice a year
      3    0.25 to 0.5         every two to four months
      4    0.5 to 1            every month or two
      5    1 to 2              once or twice a month
      6    2 to 4              a few times a month
      7    4 to 8              about weekly
      8    8 to 15             several times a week
      9    15 to 30            most days
     10    30 or more          every day or more

An estimate "disagrees" with the cases when the score the real rate implies
is at least DISAGREEMENT points away from it, and the evidence is worth
acting on: at least MIN_CASES_FOR_MORE cases for "more often than
estimated" (one case may be chance), and, for "less often", an estimate that
should have produced at least MIN_EXPECTED_FOR_LESS cases in the period (a
rare failure that did not happen this quarter proves nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

# Lower bound of each score's band, in cases per 30 days; index 0 is score 1.
BAND_FLOORS: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

BAND_WORDS: dict[int, str] = {
    1: "less than about once a year",
    2: "once or twice a year",
    3: "every two to four months",
    4: "every month or two",
    5: "once or twice a month",
    6: "a few times a month",
    7: "about weekly",
    8: "several times a week",
    9: "most days",
    10: "every day or more",
}

DISAGREEMENT = 2
MIN_CASES_FOR_MORE = 2
MIN_EXPECTED_FOR_LESS = 3.0

MORE = "more"  # real cases come more often than the estimate says
LESS = "less"


def rate_per_30_days(cases: int, days: float) -> float:
    return cases * 30.0 / days if days > 0 else 0.0


def occurrence_for_rate(rate: float) -> int:
    """The occurrence score whose band holds `rate` cases per 30 days."""
    score = 1
    for index, floor in enumerate(BAND_FLOORS):
        if rate >= floor:
            score = index + 1
    return score


def band(score: int) -> tuple[float, float | None]:
    """(lower, upper) cases per 30 days for a score; upper is None for 10."""
    lower = BAND_FLOORS[score - 1]
    upper = BAND_FLOORS[score] if score < len(BAND_FLOORS) else None
    return lower, upper


@dataclass(frozen=True)
class Observed:
    # Occurrences: a case on its own counts once, and so does a breakdown however
    # many customers (cases) it hit; the rate and the verdict are worked from these.
    cases: int
    days: float  # the days actually observed (never more than Bounceback has recorded)
    rate: float  # occurrences per 30 days
    implied: int | None  # the occurrence score the rate implies; None with nothing observed
    disagreement: str | None  # MORE, LESS or None
    # Every case linked to the mode: the customers it hit (more than `cases` when a
    # breakdown hit several).
    customers: int = 0

    @property
    def breakdown_counted_once(self) -> bool:
        return self.customers > self.cases


def observe(*, estimate: int, cases: int, days: float, customers: int | None = None) -> Observed:
    """Compare an occurrence estimate with `cases` (occurrences) seen over `days`.

    `customers` is how many cases those occurrences were (a breakdown is one
    occurrence of many cases); the same as `cases` when not given."""
    customers = cases if customers is None else customers
    if days <= 0:
        return Observed(
            cases=cases, days=0, rate=0.0, implied=None, disagreement=None, customers=customers
        )
    rate = rate_per_30_days(cases, days)
    implied = occurrence_for_rate(rate)
    verdict = None
    if implied - estimate >= DISAGREEMENT and cases >= MIN_CASES_FOR_MORE:
        verdict = MORE
    elif estimate - implied >= DISAGREEMENT:
        expected_at_least = band(estimate)[0] * days / 30.0
        if expected_at_least >= MIN_EXPECTED_FOR_LESS:
            verdict = LESS
    return Observed(
        cases=cases,
        days=days,
        rate=rate,
        implied=implied,
        disagreement=verdict,
        customers=customers,
    )
