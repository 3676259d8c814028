"""Placeholders in playbook message templates: `{{ customer.first_name }}` and friends.

Deliberately not the Django template language: staff write these, and a
template must not be able to reach anything but the values listed here.
Unknown placeholders are refused when a template is saved (`template_problems`),
so a message never goes out with a hole in it. Rendering is a plain
substitution, cheap enough for a hundred thousand customers in one outreach.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from bounceback.inputs import placeholders_offer, placeholders_unknown

PLACEHOLDERS: dict[str, str] = {
    "customer.name": "The customer's full name",
    "customer.first_name": "The customer's first name (the full name if it has one word)",
    "breakdown.title": "The breakdown's title, e.g. 'Power cut at the Grand Hall'",
    "breakdown.reference": "The breakdown's reference, e.g. BD-00003",
    "site.name": "The site affected, or 'our site' when the breakdown has none",
    "site.address": "The site's address",
    "window.start": "When the breakdown's window starts, in the site's time zone",
    "window.end": "When the window ends ('until further notice' when open)",
    "case.reference": "The customer's case reference, so a reply lands on their case",
}

PLACEHOLDER_PATTERN = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)?)\s*\}\}")


def template_placeholders(text: str) -> list[str]:
    return [match.group(1) for match in PLACEHOLDER_PATTERN.finditer(text)]


def template_problems(text: str, allowed: Mapping[str, str] | None = None) -> list[str]:
    """Each placeholder in `text` that nothing fills, as a message for the person who
    wrote it: any `{{ ... }}` or `{% ... %}` that is not exactly one of `allowed`
    (the playbooks' PLACEHOLDERS by default; a canned reply has its own), such as
    `{{ Customer.Name }}`, `{{ customer.first_name|upper }}` or `{{ customer }}`,
    since render would leave it in the message as written."""
    allowed = PLACEHOLDERS if allowed is None else allowed
    return [
        f"unknown placeholder {written}; {placeholders_offer(allowed)}"
        for written in placeholders_unknown(text, allowed)
    ]


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill the placeholders; one missing from `values` is left blank, never raises."""
    return PLACEHOLDER_PATTERN.sub(lambda match: values.get(match.group(1), ""), text)


def _when(value: datetime | None, zone: str) -> str:
    if value is None:
        return "until further notice"
    local = value.astimezone(ZoneInfo(zone))
    # The zone is named: a customer elsewhere reads the venue's clock, not theirs.
    return f"{local:%A %-d %B at %H:%M} {local:%Z}".rstrip()


def first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else name


def breakdown_values(breakdown: Any) -> dict[str, str]:
    """The values that are the same for every customer of a breakdown."""
    site = breakdown.site
    # The site's clock, else the business's (TIME_ZONE), as the window was entered.
    zone = (site.time_zone if site is not None else "") or settings.TIME_ZONE
    return {
        "breakdown.title": breakdown.title,
        "breakdown.reference": breakdown.reference or "",
        "site.name": site.name if site is not None else "our site",
        "site.address": (site.address or "") if site is not None else "",
        "window.start": _when(breakdown.window_start, zone),
        "window.end": _when(breakdown.window_end, zone),
    }


def customer_values(
    common: Mapping[str, str], *, customer_name: str, case_reference: str = ""
) -> dict[str, str]:
    """`common` (from breakdown_values) plus this customer's own values."""
    return {
        **common,
        "customer.name": customer_name,
        "customer.first_name": first_name(customer_name),
        "case.reference": case_reference,
    }


# Sample values for previews in the playbook editor, before any breakdown exists.
SAMPLE_VALUES: dict[str, str] = {
    "customer.name": "Alex Morgan",
    "customer.first_name": "Alex",
    "breakdown.title": "Power cut at the venue",
    "breakdown.reference": "BD-00001",
    "site.name": "Harbourside Grand Hall",
    "site.address": "1 Quay Street, Bayport",
    "window.start": "Saturday 14 March at 19:30",
    "window.end": "until further notice",
    "case.reference": "BB-00042",
}
