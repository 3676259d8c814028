"""The estimators, checked against figures worked out by hand."""

from __future__ import annotations

import pytest

from bounceback.loyalty.statistics import (
    kaplan_meier,
    mean,
    median_time,
    proportion,
    survival_at,
)


def test_censored_customers_leave_the_risk_set_without_an_event() -> None:
    # Given six customers: back on days 1, 3, 3 and 6; two still away, watched 2 and 5 days.
    durations = [1, 2, 3, 3, 5, 6]
    observed = [True, False, True, True, False, True]

    steps = kaplan_meier(durations, observed)

    # Then: S(1) = 5/6; the censored one at day 2 leaves 4 at risk at day 3,
    # S(3) = 5/6 * 2/4; the censored one at 5 leaves 1 at risk at 6, S(6) = 0.
    assert [s.day for s in steps] == [0.0, 1.0, 3.0, 6.0]
    assert [s.at_risk for s in steps[1:]] == [6, 4, 1]
    assert steps[1].survival == pytest.approx(5 / 6)
    assert steps[2].survival == pytest.approx(5 / 6 * 2 / 4)
    assert steps[3].survival == pytest.approx(0.0)
    # Treating the censored as "never back" would have given 4/6 back by day 6 only.
    assert survival_at(steps, 4) == pytest.approx(5 / 12)
    assert median_time(steps) == 3.0


def test_given_no_one_back_yet_then_the_curve_stays_at_one_and_has_no_median() -> None:
    steps = kaplan_meier([10, 20, 30], [False, False, False])

    assert [s.survival for s in steps] == [1.0]
    assert median_time(steps) is None


def test_the_interval_contains_the_estimate_and_stays_within_zero_and_one() -> None:
    steps = kaplan_meier(list(range(1, 41)), [i % 3 != 0 for i in range(1, 41)])

    for s in steps[1:]:
        assert 0.0 <= s.low <= s.survival <= s.high <= 1.0


def test_wilson_interval_is_sound_at_the_edges() -> None:
    none_back = proportion(0, 10)
    all_back = proportion(10, 10)

    assert none_back.value == 0.0 and none_back.low == 0.0 and 0.2 < none_back.high < 0.35
    assert all_back.value == 1.0 and all_back.high == 1.0 and 0.65 < all_back.low < 0.8
    assert proportion(0, 0).value is None
    with pytest.raises(ValueError):
        proportion(3, 2)


def test_mean_interval_narrows_with_more_customers() -> None:
    few = mean([10.0, 30.0])
    many = mean([10.0, 30.0] * 50)

    assert few.value == many.value == 20.0
    assert (many.high - many.low) < (few.high - few.low)
    assert mean([5.0]).low is None
