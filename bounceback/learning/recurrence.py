"""Did the cases really stop? A rate comparison normalised by volume (pure functions).

Cases of a problem arrive roughly as a Poisson process whose rate follows the
business's volume (transactions). Comparing the rate after a corrective
action with the rate before uses the conditional test for two Poisson rates
(Przyborowski and Wilenski): given k cases in all, the number after is
binomial with p = exposure after / total exposure when nothing changed. The
one-sided p-value says how likely so few cases after would be by chance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

ALPHA = 0.05


def _log_pmf(k: int, n: int, p: float) -> float:
    if p <= 0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1:
        return 0.0 if k == n else -math.inf
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return min(1.0, sum(math.exp(_log_pmf(i, n, p)) for i in range(k + 1)))


@dataclass
class RateComparison:
    before_cases: int
    before_volume: int
    after_cases: int
    after_volume: int
    before_rate: float  # cases per 1,000 transactions
    after_rate: float
    ratio: float | None  # after / before; None when there was nothing before
    p_lower: float  # P(this few cases after, or fewer, if the rate had not changed)
    p_higher: float  # P(this many after, or more, if the rate had not changed)

    @property
    def dropped(self) -> bool:
        return self.p_lower < ALPHA and (self.ratio is None or self.ratio < 1)

    @property
    def rose_or_held(self) -> bool:
        """The rate after is not significantly lower than before."""
        return not self.dropped

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "dropped": self.dropped}


def compare(
    *, before_cases: int, before_volume: int, after_cases: int, after_volume: int
) -> RateComparison:
    """Compare case rates per transaction before and after (volumes of at least 1)."""
    before_volume = max(before_volume, 1)
    after_volume = max(after_volume, 1)
    before_rate = 1000 * before_cases / before_volume
    after_rate = 1000 * after_cases / after_volume
    total = before_cases + after_cases
    share = after_volume / (before_volume + after_volume)
    p_lower = binomial_cdf(after_cases, total, share) if total else 1.0
    p_higher = 1.0 - binomial_cdf(after_cases - 1, total, share) if total else 1.0
    return RateComparison(
        before_cases=before_cases,
        before_volume=before_volume,
        after_cases=after_cases,
        after_volume=after_volume,
        before_rate=round(before_rate, 4),
        after_rate=round(after_rate, 4),
        ratio=round(after_rate / before_rate, 4) if before_rate else None,
        p_lower=round(p_lower, 6),
        p_higher=round(p_higher, 6),
    )
