"""A generator of realistic signal traffic with planted spikes, for tests and bench/.

Background: each series (a site, a product...) has its own daily level; the
hour of day follows a business-day curve and weekends are quieter; counts are
Poisson draws around that, with the odd noisy day (a gamma-distributed day
factor) so the detector meets overdispersion as in real life. Spikes of known
size (extra distinct customers over a few hours) are planted at known times.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

HOUR_SHAPE = [
    0.2,
    0.1,
    0.1,
    0.1,
    0.2,
    0.4,
    0.8,
    1.3,
    1.7,
    1.9,
    1.9,
    1.8,
    1.8,
    1.7,
    1.6,
    1.6,
    1.6,
    1.6,
    1.4,
    1.2,
    1.0,
    0.8,
    0.5,
    0.3,
]
WEEKDAY_SHAPE = [1.1, 1.0, 1.0, 1.05, 1.2, 0.7, 0.5]


@dataclass(frozen=True)
class Planted:
    series: str
    at: datetime
    hours: int
    extra: int


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def generate(
    *,
    start: datetime,
    days: int,
    series: dict[str, float],
    spikes: list[Planted],
    seed: int = 15,
    dimension: str = "site",
) -> list[dict[str, Any]]:
    """Signal items (for signals_record_many) for `days` from `start` (midnight, aware).

    `series` maps a value to its mean signals per day; each signal comes from a
    different customer (author), as most complaints do.
    """
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    n = 0
    norm = sum(HOUR_SHAPE)
    for day in range(days):
        date = start + timedelta(days=day)
        for value, per_day in series.items():
            day_factor = rng.gammavariate(16.0, 1 / 16.0)  # days vary by about 25%
            level = per_day * WEEKDAY_SHAPE[date.weekday()] * day_factor
            for hour in range(24):
                lam = level * HOUR_SHAPE[hour] / norm
                for _ in range(_poisson(rng, lam)):
                    n += 1
                    at = date + timedelta(hours=hour, minutes=rng.randrange(60))
                    items.append(_item(n, at, dimension, value, f"bg-{n}"))
    for index, spike in enumerate(spikes):
        for k in range(spike.extra):
            n += 1
            at = spike.at + timedelta(minutes=rng.randrange(60 * spike.hours))
            items.append(_item(n, at, dimension, spike.series, f"spike-{index}-{k}"))
    return items


def _item(n: int, at: datetime, dimension: str, value: str, author: str) -> dict[str, Any]:
    return {
        "source": "synthetic",
        "external_id": f"S-{n}",
        "kind": "operational",
        "event": "",
        "occurred_at": at.isoformat(),
        dimension: value,
        "author": author,
    }
