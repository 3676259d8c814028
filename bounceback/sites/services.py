from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from zoneinfo import available_timezones

from django.utils.text import slugify

from bounceback.errors import Conflict, ValidationFailed
from bounceback.sites.models import Site

if TYPE_CHECKING:
    from bounceback.timers.models import BusinessCalendar


def site_code_normalise(*, code: str, field: str = "site") -> str:
    """The code as stored (a slug); refuses one with nothing usable in it."""
    normalised = slugify(code.strip())[:60]
    if not normalised:
        raise ValidationFailed(f"{code!r} is not a usable site code", field=field)
    return normalised


def site_create(
    *, code: str, name: str, kind: str = "", address: str = "", time_zone: str = "UTC"
) -> Site:
    """A site (a hall, a shop, a depot); refuses a taken code and an unknown time zone."""
    code = site_code_normalise(code=code, field="code")
    if time_zone not in available_timezones():
        raise ValidationFailed(f"unknown time zone {time_zone!r}", field="time_zone")
    if Site.objects.filter(code=code).exists():
        raise Conflict(f"a site with code {code!r} already exists", field="code")
    return Site.objects.create(
        code=code, name=name.strip() or code, kind=kind, address=address, time_zone=time_zone
    )


def sites_ensure(*, codes: Iterable[str]) -> dict[str, Site]:
    """Sites by code, creating any not seen before (named after their code).

    Ingest must not fail because a booking system mentions a new location;
    staff rename the new site afterwards.
    """
    wanted = {c for c in codes if c}
    found = {s.code: s for s in Site.objects.filter(code__in=wanted)}
    missing = wanted - found.keys()
    if missing:
        Site.objects.bulk_create(
            [Site(code=c, name=c) for c in sorted(missing)], ignore_conflicts=True
        )
        found = {s.code: s for s in Site.objects.filter(code__in=wanted)}
    return found


def site_set_calendar(*, site: Site, calendar: BusinessCalendar | None) -> Site:
    """Count recovery timers at this site in its business hours (None: around the clock).

    Timers already running keep the calendar they started with.
    """
    site.calendar = calendar
    site.save(update_fields=["calendar"])
    return site
