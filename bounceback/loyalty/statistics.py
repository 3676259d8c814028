"""The estimators behind the loyalty figures: proportions, means and survival.

Pure functions over plain numbers, so each can be checked by hand. Every
estimate carries a 95% interval: a cohort of twelve customers returning 70% of
the time says much less than one of twelve hundred, and the page must show it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    """k of n, with the Wilson score interval (sound for small n and for 0 or n)."""

    k: int
    n: int
    value: float | None
    low: float | None
    high: float | None


def proportion(k: int, n: int) -> Proportion:
    if n <= 0:
        return Proportion(k=0, n=0, value=None, low=None, high=None)
    if not 0 <= k <= n:
        raise ValueError(f"a proportion needs 0 <= k <= n, not {k} of {n}")
    p = k / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At 0 of n or n of n one end is exactly 0 or 1; rounding must not move it.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Proportion(k=k, n=n, value=p, low=low, high=high)


@dataclass(frozen=True)
class Mean:
    n: int
    value: float | None
    low: float | None
    high: float | None


def mean(values: Sequence[float]) -> Mean:
    """The mean with a normal-approximation interval (none for fewer than two values)."""
    n = len(values)
    if n == 0:
        return Mean(n=0, value=None, low=None, high=None)
    m = sum(values) / n
    if n < 2:
        return Mean(n=1, value=m, low=None, high=None)
    variance = sum((v - m) ** 2 for v in values) / (n - 1)
    half = Z95 * math.sqrt(variance / n)
    return Mean(n=n, value=m, low=m - half, high=m + half)


@dataclass(frozen=True)
class SurvivalStep:
    """The share still not returned just after `day`, with its 95% interval."""

    day: float
    at_risk: int
    events: int
    censored: int
    survival: float
    low: float
    high: float


def kaplan_meier(durations: Sequence[float], observed: Sequence[bool]) -> list[SurvivalStep]:
    """The Kaplan-Meier curve of time to an event, censoring done right.

    `durations[i]` is how long customer i was watched: until their event when
    `observed[i]`, else until we stopped watching (today, for a customer who has
    not come back yet). A censored customer counts as at risk up to and
    including their last day and then leaves the risk set without an event;
    at a tie, events are taken before censorings (the usual convention). The
    interval is Greenwood's variance on the log(-log) scale, which stays within
    0..1. The curve starts with a step at day 0 of survival 1.
    """
    if len(durations) != len(observed):
        raise ValueError("durations and observed must be the same length")
    if any(d < 0 for d in durations):
        raise ValueError("a duration cannot be negative")
    steps = [
        SurvivalStep(
            day=0.0, at_risk=len(durations), events=0, censored=0, survival=1.0, low=1.0, high=1.0
        )
    ]
    times = sorted(set(durations))
    at_risk = len(durations)
    survival = 1.0
    greenwood = 0.0
    by_time: dict[float, list[int]] = {}
    for d, seen in zip(durations, observed, strict=True):
        counts = by_time.setdefault(d, [0, 0])
        counts[0 if seen else 1] += 1
    for t in times:
        events, censored = by_time[t]
        if events:
            survival *= 1 - events / at_risk
            if at_risk > events:
                greenwood += events / (at_risk * (at_risk - events))
            low, high = _loglog_interval(survival, greenwood)
            steps.append(
                SurvivalStep(
                    day=float(t),
                    at_risk=at_risk,
                    events=events,
                    censored=censored,
                    survival=survival,
                    low=low,
                    high=high,
                )
            )
        elif censored and steps:
            last = steps[-1]
            steps[-1] = SurvivalStep(
                day=last.day,
                at_risk=last.at_risk,
                events=last.events,
                censored=last.censored + censored,
                survival=last.survival,
                low=last.low,
                high=last.high,
            )
        at_risk -= events + censored
    return steps


def _loglog_interval(survival: float, greenwood: float) -> tuple[float, float]:
    if survival <= 0.0:
        return 0.0, 0.0
    if survival >= 1.0 or greenwood <= 0.0:
        return survival, survival
    log_s = math.log(survival)
    se = math.sqrt(greenwood) / abs(log_s)
    low = survival ** math.exp(Z95 * se)
    high = survival ** math.exp(-Z95 * se)
    return low, high


def survival_at(steps: Sequence[SurvivalStep], day: float) -> float:
    """The curve's value at `day` (a step function, right-continuous)."""
    value = 1.0
    for step in steps:
        if step.day > day:
            break
        value = step.survival
    return value


def median_time(steps: Sequence[SurvivalStep]) -> float | None:
    """The first day the curve reaches 0.5 or below; None while it has not."""
    for step in steps:
        if step.survival <= 0.5:
            return step.day
    return None
