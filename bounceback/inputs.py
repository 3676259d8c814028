"""The input kit: checking what people and other systems hand the services.

Each check raises ValidationFailed naming the field, with the same words for
the same fault everywhere ("summary is required", "name is longer than 120
characters", "title must be text"), so importers and bulk endpoints can report
exactly which value of which row was wrong and pages can show it beside the
field. Services validate with these first, then write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from bounceback.errors import ValidationFailed

_CURRENCY = re.compile(r"^[A-Z]{3}$")


TEXT_MAX = 20_000


def label_of(field: str) -> str:
    """How a field is named in a message: the last part of its path, in words."""
    return field.rsplit(".", 1)[-1].split("[", 1)[0].replace("_", " ")


def text_field(
    value: Any,
    *,
    field: str,
    max_length: int = TEXT_MAX,
    required: bool = False,
    loose: bool = False,
    label: str | None = None,
) -> str:
    """Stripped text. None is empty; anything else that is not text is refused, unless
    `loose` (a CSV cell or a loosely typed import value), which takes its str()."""
    name = label or label_of(field)
    if value is None:
        value = ""
    elif not isinstance(value, str):
        if not loose or isinstance(value, dict | list):
            raise ValidationFailed(f"{name} must be text", field=field)
        value = str(value)
    text: str = value.strip()
    if required and not text:
        raise ValidationFailed(f"{name} is required", field=field)
    if len(text) > max_length:
        raise ValidationFailed(f"{name} is longer than {max_length} characters", field=field)
    return text


def decimal_field(
    value: Any, *, field: str, places: int = 2, minimum: Decimal | None = None
) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(f"{field} is required", field=field)
    if isinstance(value, float):
        # Floats cannot hold money exactly; go through their shortest repr.
        value = repr(value)
    if isinstance(value, bool):
        raise ValidationFailed(f"{field} must be a number", field=field)
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed(f"{field} must be a number, not {value!r}", field=field) from None
    if not number.is_finite():
        raise ValidationFailed(f"{field} must be a finite number", field=field)
    if number.as_tuple().exponent < -places:  # type: ignore[operator]
        raise ValidationFailed(f"{field} has more than {places} decimal places", field=field)
    if minimum is not None and number < minimum:
        raise ValidationFailed(f"{field} must be at least {minimum}", field=field)
    if abs(number) >= Decimal(10) ** (12 - places):
        raise ValidationFailed(f"{field} is too large", field=field)
    return number.quantize(Decimal(1).scaleb(-places))


def currency_field(value: Any, *, field: str = "currency") -> str:
    code = text_field(value, field=field, max_length=3, required=True).upper()
    if not _CURRENCY.match(code):
        raise ValidationFailed(
            f"{field} must be a three-letter ISO 4217 code such as USD", field=field
        )
    return code


def datetime_field(value: Any, *, field: str, required: bool = True) -> datetime | None:
    """An aware datetime. Naive values are read in the business time zone (TIME_ZONE)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(f"{field} is required", field=field)
        return None
    if isinstance(value, datetime):
        parsed: datetime | None = value
    else:
        text = str(value).strip()
        try:
            parsed = parse_datetime(text.replace(" ", "T", 1) if " " in text else text)
            if parsed is None:
                day = parse_date(text)
                parsed = datetime(day.year, day.month, day.day) if day else None
        except ValueError:
            parsed = None
    if parsed is None:
        raise ValidationFailed(
            f"{field} must be an ISO 8601 date-time such as 2026-03-01T18:30:00Z, not {value!r}",
            field=field,
        )
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def choice_field(
    value: Any, *, field: str, choices: Iterable[str], default: str | None = None
) -> str:
    text = "" if value is None else str(value).strip().lower()
    allowed = list(choices)
    if not text and default is not None:
        return default
    if text not in allowed:
        raise ValidationFailed(
            f"{field} must be one of {', '.join(allowed)}, not {value!r}", field=field
        )
    return text


def object_field(value: Any, *, field: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} must be a JSON object", field=field)
    return value
