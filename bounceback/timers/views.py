"""Business-hours calendars: create one, and choose which sites count time in it."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from bounceback.errors import ServiceError
from bounceback.sites.models import Site
from bounceback.sites.services import site_set_calendar
from bounceback.timers.forms import WEEKDAYS, CalendarForm, SiteCalendarForm
from bounceback.timers.models import BusinessCalendar
from bounceback.timers.services import calendar_create
from bounceback.web.actions import perform
from bounceback.web.forms import add_service_error


@lru_cache(maxsize=1)
def _time_zones() -> list[str]:
    return sorted(available_timezones())


def _hours_text(calendar: BusinessCalendar) -> list[tuple[str, str]]:
    rows = []
    for number, day in enumerate(WEEKDAYS):
        spans = calendar.hours.get(str(number)) or []
        rows.append((day[:3], ", ".join(f"{a}\N{EN DASH}{b}" for a, b in spans) or "closed"))
    return rows


def _refuse(form: forms.BaseForm, error: ServiceError) -> None:
    """A day's hours ("hours.0") on that day's field; the hours as a whole over the form."""
    day = (error.field or "").removeprefix("hours.")
    if day.isdigit() and f"day_{day}" in form.fields:
        form.add_error(f"day_{day}", error.message)
    else:
        add_service_error(form, error, field_map={"hours": None})


@permission_required("timers.add_businesscalendar", raise_exception=True)
def calendar_list(request: HttpRequest) -> HttpResponse:
    """Every calendar with its hours and sites, and the form for a new one."""
    form = CalendarForm(request.POST or None)

    def page() -> HttpResponse:
        calendars = list(BusinessCalendar.objects.prefetch_related("holidays", "sites"))
        sites = list(Site.objects.select_related("calendar").order_by("name"))
        context = {
            "form": form,
            "calendars": [(c, _hours_text(c)) for c in calendars],
            "sites": sites,
            "calendar_choices": calendars,
            "time_zones": _time_zones(),
            "can_attach": request.user.has_perm("sites.change_site"),
        }
        return render(request, "timers/calendars.html", context)

    return perform(
        request,
        lambda data: calendar_create(
            name=data["name"],
            time_zone=data["time_zone"].strip(),
            hours=data["hours"],
            holidays=data["holidays"],
        ),
        form=form,
        refuse=_refuse,
        page=page,
        success=lambda calendar: f"Calendar “{calendar.name}” created.",
        redirect_to="timers:calendars",
    )


@require_POST
@permission_required("sites.change_site", raise_exception=True)
def site_calendar(request: HttpRequest) -> HttpResponse:
    form = SiteCalendarForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a site and a calendar from the lists.")
        return redirect("timers:calendars")
    site = site_set_calendar(site=form.cleaned_data["site"], calendar=form.cleaned_data["calendar"])
    hours = f"in “{site.calendar}” hours" if site.calendar else "around the clock"
    messages.success(
        request, f"New case timers at {site.name} count {hours}. Running timers are unchanged."
    )
    return redirect("timers:calendars")
