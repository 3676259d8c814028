"""The period of failures a loyalty report covers, checked alike for the page and the API."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from django.utils import timezone

from bounceback.errors import ValidationFailed

DEFAULT_DAYS = 365
# A period longer than this reads every transaction there is for little gain.
LONGEST_DAYS = 5 * 366
EARLIEST = date(1970, 1, 1)


def loyalty_period(
    *, since: date | None, until: date | None, zone: tzinfo | None = None
) -> tuple[datetime, datetime]:
    """[first day 00:00, the day after the last day 00:00) in `zone` (default: the current one).

    Missing ends default to the last 365 days up to today. Refuses a period
    that ends before it starts, one longer than five years, or one outside
    1970..a year from now.
    """
    zone = zone or timezone.get_current_timezone()
    today = timezone.localdate(timezone=zone)
    until = until or today
    since = since or until - timedelta(days=DEFAULT_DAYS)
    latest = today + timedelta(days=366)
    for name, day in (("since", since), ("until", until)):
        if not EARLIEST <= day <= latest:
            raise ValidationFailed(
                f"{name} must be between {EARLIEST:%Y-%m-%d} and {latest:%Y-%m-%d}", field=name
            )
    if since > until:
        raise ValidationFailed("the period must start on or before its last day", field="since")
    if (until - since).days > LONGEST_DAYS:
        raise ValidationFailed("choose a period of at most five years", field="since")
    return (
        datetime.combine(since, time.min, tzinfo=zone),
        datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone),
    )
