"""The business-hours calendar form: weekly hours as text per weekday, holidays one a line."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.conf import settings

from bounceback.sites.models import Site
from bounceback.timers.models import BusinessCalendar

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_SPAN = re.compile(r"^\s*(\d{1,2}):?(\d{2})\s*[-\u2013]\s*(\d{1,2}):?(\d{2})\s*$")
_HOLIDAY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(.*)$")


def _clock(hour: str, minute: str) -> str:
    return f"{int(hour):02d}:{minute}"


class CalendarForm(forms.Form):
    """Hours like "09:00-17:30", or "09:00-12:00, 13:00-17:00"; empty means closed."""

    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    time_zone = forms.CharField(
        max_length=64,
        initial=settings.TIME_ZONE,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        help_text="An IANA name such as Europe/London.",
    )
    holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One a line: the date, then its name, e.g. 2026-12-25 Christmas Day.",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for number, day in enumerate(WEEKDAYS):
            self.fields[f"day_{number}"] = forms.CharField(
                required=False,
                label=day,
                initial="09:00-17:00" if number < 5 else "",
                widget=forms.TextInput(attrs={"placeholder": "closed", "autocomplete": "off"}),
            )

    def day_fields(self) -> list[forms.BoundField]:
        return [self[f"day_{n}"] for n in range(7)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        hours: dict[str, list[list[str]]] = {}
        for number in range(7):
            name = f"day_{number}"
            text = (cleaned.get(name) or "").strip()
            if not text or text.lower() == "closed":
                continue
            spans = []
            for part in text.split(","):
                match = _SPAN.match(part)
                if not match:
                    self.add_error(name, f"“{part.strip()}” is not like 09:00-17:30.")
                    break
                h1, m1, h2, m2 = match.groups()
                spans.append([_clock(h1, m1), _clock(h2, m2)])
            hours[str(number)] = spans
        cleaned["hours"] = hours
        return cleaned

    def clean_holidays(self) -> list[tuple[date, str]]:
        days: list[tuple[date, str]] = []
        for line in (self.cleaned_data.get("holidays") or "").splitlines():
            if not line.strip():
                continue
            match = _HOLIDAY.match(line)
            try:
                day = date.fromisoformat(match.group(1)) if match else None
            except ValueError:
                day = None
            if match is None or day is None:
                raise forms.ValidationError(f"“{line.strip()}” does not start with a date.")
            days.append((day, match.group(2).strip()[:120]))
        return days


class SiteCalendarForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.all(), widget=forms.HiddenInput)
    calendar = forms.ModelChoiceField(
        queryset=BusinessCalendar.objects.all(),
        required=False,
        empty_label="Around the clock",
        label="Business hours",
    )
