"""Template helpers for the staff UI."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import numberformat
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

register = template.Library()

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


@register.filter
def money(amount: Any, currency: str = "") -> str:
    """1234.5, "EUR" -> "€1,234.50"; unknown currencies keep their code."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return ""
    places = 0 if currency == "JPY" else 2
    text = numberformat.format(
        abs(value), ".", places, grouping=3, thousand_sep=",", force_grouping=True
    )
    sign = "\u2212" if value < 0 else ""  # a typographic minus
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency}".strip()


@register.filter
def initials(user: Any) -> str:
    """Up to two letters for an avatar: first and last name, else the username."""
    first = (getattr(user, "first_name", "") or "").strip()
    last = (getattr(user, "last_name", "") or "").strip()
    if first or last:
        return (first[:1] + last[:1]).upper()
    name = str(getattr(user, "username", "") or user or "?")
    return name[:2].upper()


@register.filter
def field_class(field: Any) -> str:
    """CSS classes for a form row: its widget type and whether it has errors."""
    classes = ["field", f"field--{field.widget_type}"]
    if field.errors:
        classes.append("field--error")
    return " ".join(classes)


@register.filter
def mark(sentence: str, phrase: str = "") -> SafeString:
    """The sentence with the first occurrence of `phrase` in <mark>, escaped; the coach
    shows each finding's sentence with the words that set it off."""
    sentence = str(sentence or "")
    phrase = str(phrase or "")
    at = sentence.lower().find(phrase.lower()) if phrase else -1
    if at < 0:
        return escape(sentence)
    end = at + len(phrase)
    return format_html("{}<mark>{}</mark>{}", sentence[:at], sentence[at:end], sentence[end:])


@register.filter
def clock_of(site: Any) -> str:
    """The zone a site's times are on: its own, else the installation's TIME_ZONE."""
    from django.conf import settings

    zone = getattr(site, "time_zone", "") if site is not None else ""
    return str(zone or settings.TIME_ZONE)
