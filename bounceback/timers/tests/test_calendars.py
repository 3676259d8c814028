from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bounceback.errors import ValidationFailed
from bounceback.timers.calendars import business_add, business_seconds_between
from bounceback.timers.services import calendar_create

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
WEEKDAYS_9_TO_5 = {str(d): [["09:00", "17:00"]] for d in range(5)}


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture
def office():  # type: ignore[no-untyped-def]
    return calendar_create(
        name="Workshop",
        time_zone="Europe/London",
        hours=WEEKDAYS_9_TO_5,
        holidays=[(date(2026, 12, 25), "Christmas")],
    )


def test_time_outside_opening_hours_does_not_count(office) -> None:
    # Friday 16:30 plus one open hour: 30 minutes on Friday, 30 on Monday.
    due = business_add(calendar=office, start=_at(2026, 11, 20, 16, 30), seconds=3600)

    assert due == _at(2026, 11, 23, 9, 30)


def test_a_holiday_is_skipped(office) -> None:
    due = business_add(calendar=office, start=_at(2026, 12, 24, 16, 0), seconds=2 * 3600)

    assert due == _at(2026, 12, 28, 10, 0)


def test_starting_before_opening_counts_from_opening(office) -> None:
    due = business_add(calendar=office, start=_at(2026, 11, 23, 6, 0), seconds=20 * 60)

    assert due == _at(2026, 11, 23, 9, 20)


def test_open_time_between_two_moments(office) -> None:
    seconds = business_seconds_between(
        calendar=office, start=_at(2026, 11, 20, 16, 0), end=_at(2026, 11, 23, 10, 0)
    )

    assert seconds == 2 * 3600


def test_daylight_saving_change_keeps_wall_clock_hours(office) -> None:
    # The clocks go back on Sunday 25 October 2026; Monday still opens at 09:00 local.
    due = business_add(calendar=office, start=_at(2026, 10, 23, 16, 0), seconds=2 * 3600)

    assert due == _at(2026, 10, 26, 10, 0)


def test_without_a_calendar_time_is_plain_time() -> None:
    start = _at(2026, 11, 21, 23, 50)

    assert business_add(calendar=None, start=start, seconds=1200) == _at(2026, 11, 22, 0, 10)


@pytest.mark.parametrize(
    "hours",
    [
        {},
        {"7": [["09:00", "17:00"]]},
        {"0": [["17:00", "09:00"]]},
        {"0": [["9am", "5pm"]]},
        {"0": [["09:00", "12:00"], ["11:00", "13:00"]]},
    ],
)
def test_unusable_hours_are_refused(hours: dict) -> None:
    with pytest.raises(ValidationFailed):
        calendar_create(name="Bad", time_zone="UTC", hours=hours)
