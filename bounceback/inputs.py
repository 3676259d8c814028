"""The input kit: checking what people and other systems hand the services.

Each check raises ValidationFailed naming the field, with the same words for
the same fault everywhere ("summary is required", "name is longer than 120
characters", "title must be text"), so importers and bulk endpoints can report
exactly which value of which row was wrong and pages can show it beside the
field. Services validate with these first, then write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from bounceback.errors import ValidationFailed

_CURRENCY = re.compile(r"^[A-Z]{3}$")

# ISO 4217 currencies in use (2026), without the codes that are not money one
# pays with: XXX (no currency) and XTS (reserved for testing).
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF
    DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG
    HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK
    LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
    TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA
    XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905 (a table is easier to check against the standard)
)

TEXT_MAX = 20_000

# Dates outside these years are typing mistakes or probes (9999-12-31T23:59:59-14:00
# is year 10000 in UTC, which PostgreSQL stores and Python cannot read back).
YEAR_MIN, YEAR_MAX = 1900, 2200

# What a 64-bit signed integer column holds: every id and count in the database.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

# How deeply a JSON document from outside may nest (objects and arrays).
JSON_DEPTH_MAX = 64

# A lone UTF-16 surrogate cannot be encoded, so no database stores it.
_SURROGATE = re.compile("[\ud800-\udfff]")


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
    text_refuse_unstorable(text, field=field, label=name)
    if required and not text:
        raise ValidationFailed(f"{name} is required", field=field)
    if len(text) > max_length:
        raise ValidationFailed(f"{name} is longer than {max_length} characters", field=field)
    return text


def item_text(data: Mapping[str, Any], name: str, max_length: int) -> str:
    """The loose text under `name` in an item from outside (an API body, a CSV
    row, a webhook): `text_field(..., loose=True)` with the key as the field."""
    return text_field(data.get(name), field=name, max_length=max_length, loose=True)


def text_refuse_unstorable(value: str, *, field: str, label: str | None = None) -> str:
    """Refuse text no database stores the same way: a NUL character (PostgreSQL
    refuses it, SQLite keeps it) or a lone surrogate (not Unicode at all)."""
    name = label or label_of(field)
    if "\x00" in value:
        raise ValidationFailed(f"{name} contains a NUL character", field=field)
    lone = _SURROGATE.search(value)
    if lone:
        raise ValidationFailed(
            f"{name} contains an unpaired surrogate (U+{ord(lone.group()):04X}), "
            "which is not valid Unicode",
            field=field,
        )
    return value


def json_refuse_unstorable(value: Any, *, field: str, depth_max: int = JSON_DEPTH_MAX) -> Any:
    """A parsed JSON document, refused (naming the path) if it nests deeper than
    `depth_max` or holds text no database stores (see `text_refuse_unstorable`)."""
    pending: list[tuple[Any, str, int]] = [(value, field, 0)]
    while pending:
        current, path, depth = pending.pop()
        if isinstance(current, str):
            text_refuse_unstorable(current, field=path)
        elif isinstance(current, dict | list):
            if depth >= depth_max:
                raise ValidationFailed(
                    f"{label_of(path) or 'the body'} nests deeper than {depth_max} levels",
                    field=path,
                )
            if isinstance(current, dict):
                for key, item in current.items():
                    inner = f"{path}.{key}" if path else str(key)
                    text_refuse_unstorable(str(key), field=inner)
                    pending.append((item, inner, depth + 1))
            else:
                for index, item in enumerate(current):
                    pending.append((item, f"{path}[{index}]", depth + 1))
    return value


# A body without these escapes holds no NUL nor surrogate once parsed (raw ones
# are not valid JSON or UTF-8), so only such bodies need their text walked.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def json_load_checked(raw: bytes | str, *, field: str = "") -> Any:
    """Parse JSON from outside: refused if malformed, nested deeper than
    JSON_DEPTH_MAX, or holding text no database stores."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    try:
        document = json.loads(data)
    except RecursionError:
        raise ValidationFailed(
            f"the body nests deeper than {JSON_DEPTH_MAX} levels", field=field or "body"
        ) from None
    if _SUSPECT_ESCAPE.search(data) or data.count(b"[") + data.count(b"{") > JSON_DEPTH_MAX:
        json_refuse_unstorable(document, field=field)
    return document


def integer_in_range(value: int, *, field: str) -> int:
    """Refuse an integer no 64-bit database column holds (an id or a count)."""
    if not INT_MIN <= value <= INT_MAX:
        raise ValidationFailed(f"{label_of(field)} is too large", field=field)
    return value


def datetime_in_range(value: datetime, *, field: str) -> datetime:
    """Refuse a date-time outside the years YEAR_MIN..YEAR_MAX once in UTC; naive
    values are read in the business time zone."""
    name = label_of(field)
    try:
        aware = timezone.make_aware(value) if timezone.is_naive(value) else value
        year = aware.astimezone(UTC).year
    except (OverflowError, ValueError):
        year = value.year + (1 if value.year > YEAR_MAX else -1)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationFailed(
            f"{name} must be between the years {YEAR_MIN} and {YEAR_MAX} (in UTC)",
            field=field,
        )
    return aware


# Anything written like a placeholder or a template tag: {{ ... }} or {% ... %}.
PLACEHOLDER_LIKE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)


def placeholders_unknown(text: str, known: Iterable[str]) -> list[str]:
    """Each `{{ ... }}` (or `{% ... %}`) in `text` that is not one of the `known`
    names, as written, in order: what would reach a customer unfilled."""
    names = set(known)
    found: list[str] = []
    for match in PLACEHOLDER_LIKE.finditer(text):
        inner = match.group(1)
        written = " ".join(match.group(0).split())
        if (inner is None or inner.strip() not in names) and written not in found:
            found.append(written)
    return found


def placeholders_offer(known: Iterable[str]) -> str:
    """The placeholders one may use, for a refusal's message."""
    names = list(known)
    if not names:
        return "this text takes no placeholders: write the words out"
    return "use one of: " + ", ".join(f"{{{{ {name} }}}}" for name in names)


def placeholders_refuse(text: str, *, field: str, known: Iterable[str] = ()) -> str:
    """Refuse text holding a placeholder nothing fills (ValidationFailed naming the
    field, with the placeholders that exist), so it is never sent raw."""
    names = list(known)
    unknown = placeholders_unknown(text, names)
    if unknown:
        raise ValidationFailed(
            f"{label_of(field)} has {', '.join(unknown)}, which nothing fills; "
            + placeholders_offer(names),
            field=field,
        )
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
    if code not in CURRENCIES:
        raise ValidationFailed(f"{field} {code} is not an ISO 4217 currency", field=field)
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
    return datetime_in_range(parsed, field=field)


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
