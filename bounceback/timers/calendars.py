"""Business-hours arithmetic: adding open time to a moment, and measuring it.

A calendar's hours are local wall-clock intervals per weekday; holidays close a
whole local day. All results are aware datetimes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bounceback.errors import ValidationFailed
from bounceback.timers.models import BusinessCalendar

# How far ahead we look for open time before deciding a calendar is unusable.
HORIZON_DAYS = 800
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def calendar_check_hours(*, hours: Any, time_zone: str) -> dict[str, list[list[str]]]:
    """Validate an hours mapping; returns it normalised (sorted, no overlaps)."""
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {time_zone!r}", field="time_zone") from None
    if not isinstance(hours, dict):
        raise ValidationFailed("hours must map weekdays 0-6 to intervals", field="hours")
    clean: dict[str, list[list[str]]] = {}
    for day, intervals in hours.items():
        if str(day) not in {str(d) for d in range(7)}:
            raise ValidationFailed(f"{day!r} is not a weekday number 0-6", field="hours")
        spans = []
        for interval in intervals or []:
            if not (isinstance(interval, list | tuple) and len(interval) == 2):
                raise ValidationFailed("each interval is [start, end]", field=f"hours.{day}")
            start, end = (str(v) for v in interval)
            if not (_HHMM.match(start) and _HHMM.match(end)) or start >= end:
                raise ValidationFailed(
                    f"{start}-{end} is not an interval like 09:00-17:30", field=f"hours.{day}"
                )
            spans.append([start, end])
        spans.sort()
        for before, after in pairwise(spans):
            if after[0] < before[1]:
                raise ValidationFailed(f"intervals overlap on day {day}", field=f"hours.{day}")
        if spans:
            clean[str(day)] = spans
    if not clean:
        raise ValidationFailed("a calendar needs some open hours", field="hours")
    return clean


def _clock(value: str) -> tuple[time, int]:
    """A wall-clock time and a day offset ("24:00" is midnight of the next day)."""
    if value == "24:00":
        return time(0, 0), 1
    hour, minute = value.split(":")
    return time(int(hour), int(minute)), 0


class _Hours:
    """A calendar loaded once for repeated arithmetic."""

    def __init__(self, calendar: BusinessCalendar, around: datetime):
        self.zone = ZoneInfo(calendar.time_zone)
        self.hours = {int(k): v for k, v in calendar.hours.items()}
        start = around.astimezone(self.zone).date() - timedelta(days=HORIZON_DAYS)
        end = around.astimezone(self.zone).date() + timedelta(days=HORIZON_DAYS)
        self.holidays = (
            set(
                calendar.holidays.filter(date__gte=start, date__lte=end).values_list(
                    "date", flat=True
                )
            )
            if calendar.pk
            else set()
        )

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        spans = []
        for start, end in self.hours.get(day.weekday(), []):
            start_t, start_off = _clock(start)
            end_t, end_off = _clock(end)
            opens = datetime.combine(day + timedelta(days=start_off), start_t, self.zone)
            closes = datetime.combine(day + timedelta(days=end_off), end_t, self.zone)
            spans.append((opens, closes))
        return spans

    def forward(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals from `moment` on, the first one clipped to start at it."""
        day = moment.astimezone(self.zone).date()
        for _ in range(HORIZON_DAYS):
            for opens, closes in self.intervals(day):
                if closes <= moment:
                    continue
                yield max(opens, moment), closes
            day += timedelta(days=1)


def business_add(*, calendar: BusinessCalendar | None, start: datetime, seconds: int) -> datetime:
    """The moment `seconds` of open time after `start` (plain time without a calendar)."""
    if calendar is None:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    for opens, closes in _Hours(calendar, start).forward(start):
        span = closes - opens
        if remaining <= span:
            return opens + remaining
        remaining -= span
    raise ValidationFailed(
        f"calendar {calendar.name!r} has no open time within {HORIZON_DAYS} days",
        field="calendar",
    )


def business_seconds_between(
    *, calendar: BusinessCalendar | None, start: datetime, end: datetime
) -> int:
    """Open seconds from start to end (0 when end is not after start)."""
    if end <= start:
        return 0
    # Rounded up: a paused timer must never come back with less time than it had.
    if calendar is None:
        return math.ceil((end - start).total_seconds())
    total = timedelta()
    for opens, closes in _Hours(calendar, start).forward(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return math.ceil(total.total_seconds())
