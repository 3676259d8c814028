"""Reading a CSV column of dates without guessing.

Exports write dates in many shapes (2019-09-24, 24/09/2019, 09/24/2019,
24 Sep 2019, 2015-02-24 11:35:52 -0800). A column is read in one shape: every
value's possible readings are listed, and the column's shape is the one all
values share. When two shapes fit every value and they disagree on some
(03-04-15: 3 April or 4 March), or no one shape fits them all (the format
changes partway through the file), the import stops before writing anything
and names example rows; `--date-format` then settles it (DMY, MDY, YMD or a
strptime pattern such as %d.%m.%Y).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from django.utils import timezone as dj_timezone

from bounceback.errors import ValidationFailed

_NUMERIC = re.compile(r"^(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})(?:(?:\s+|T)(.*))?$")
_TIME = re.compile(
    r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_NAMED = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y")
ORDERS = ("YMD", "DMY", "MDY")
EXAMPLES = 3


@dataclass(frozen=True)
class Shape:
    """How a numeric date is written: field order, separator and year width."""

    order: str
    sep: str
    year_digits: int

    def describe(self) -> str:
        parts = {"Y": "Y" * self.year_digits, "M": "MM", "D": "DD"}
        return self.sep.join(parts[c] for c in self.order)


def _year(text: str) -> int:
    value = int(text)
    # Two-digit years: 69-99 are the 1900s, as strptime reads %y.
    if len(text) <= 2:
        return value + (1900 if value >= 69 else 2000)
    return value


def _valid(y: int, m: int, d: int) -> bool:
    try:
        datetime(y, m, d)
    except ValueError:
        return False
    return True


def _numeric_readings(a: str, sep: str, b: str, c: str) -> dict[Shape, tuple[int, int, int]]:
    out: dict[Shape, tuple[int, int, int]] = {}
    if len(a) == 4:
        y, m, d = int(a), int(b), int(c)
        if _valid(y, m, d) and len(c) <= 2:
            out[Shape("YMD", sep, 4)] = (y, m, d)
        return out
    if len(c) not in (2, 4):
        return out
    y = _year(c)
    for order, (m, d) in (("DMY", (int(b), int(a))), ("MDY", (int(a), int(b)))):
        if _valid(y, m, d):
            out[Shape(order, sep, len(c))] = (y, m, d)
    return out


def _time(rest: str | None) -> tuple[int, int, int, timezone | None] | None:
    if not rest:
        return (0, 0, 0, None)
    match = _TIME.match(rest.strip())
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match[4].lower() == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    zone = None
    if match[5]:
        if match[5] == "Z":
            zone = UTC
        else:
            digits = match[5].replace(":", "")
            sign = -1 if digits[0] == "-" else 1
            offset = timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
            zone = timezone(sign * offset)
    return hour, minute, second, zone


def _aware(y: int, m: int, d: int, clock: tuple[int, int, int, timezone | None]) -> datetime:
    hour, minute, second, zone = clock
    value = datetime(y, m, d, hour, minute, second, tzinfo=zone)
    return value if zone is not None else dj_timezone.make_aware(value)


def readings(text: str) -> dict[Shape | str, datetime]:
    """Every way this cell can be read: numeric shapes, or "named" for month names."""
    cell = text.strip()
    match = _NUMERIC.match(cell)
    if match:
        clock = _time(match[5])
        if clock is None:
            return {}
        return {
            shape: _aware(*ymd, clock)
            for shape, ymd in _numeric_readings(match[1], match[2], match[3], match[4]).items()
        }
    for pattern in _NAMED:
        for candidate in dict.fromkeys((cell, " ".join(cell.split()[:3]))):
            try:
                day = datetime.strptime(candidate, pattern)
            except ValueError:
                continue
            rest = cell[len(candidate) :].strip() or None
            clock = _time(rest)
            if clock is not None:
                return {"named": _aware(day.year, day.month, day.day, clock)}
    return {}


@dataclass(frozen=True)
class DateReader:
    """The settled reading of one column: a shape, or an explicit format."""

    shape: Shape | None = None
    pattern: str | None = None
    order: str | None = None

    def read(self, text: str) -> datetime | None:
        cell = (text or "").strip()
        if not cell:
            return None
        if self.pattern:
            try:
                value = datetime.strptime(cell, self.pattern)
            except ValueError:
                return None
            return value if value.tzinfo else dj_timezone.make_aware(value)
        found = readings(cell)
        if "named" in found:
            return found["named"]
        for shape, value in found.items():
            if isinstance(shape, Shape) and (
                shape == self.shape or (self.order and shape.order == self.order)
            ):
                return value
        return None


def _explicit(date_format: str) -> DateReader:
    upper = date_format.strip().upper()
    if upper in ORDERS:
        return DateReader(order=upper)
    if "%" not in date_format:
        raise ValidationFailed(
            f"--date-format {date_format!r}: give DMY, MDY, YMD or a pattern such as %d/%m/%Y",
            field="date_format",
        )
    return DateReader(pattern=date_format)


def _fmt(rows: Iterable[tuple[int, str]]) -> str:
    return "; ".join(f"line {line}: {value!r}" for line, value in rows)


# Long on purpose: one pass gathers every value's readings, then the three verdicts
# (one shape, ambiguous, changing) each need the examples that prove them.
def date_reader_settle(
    *, column: str, cells: Sequence[tuple[int, str]], date_format: str | None = None
) -> DateReader:
    """The one reading of a date column, or ValidationFailed naming example rows.

    `cells` are (line, text) pairs. Cells no shape can read are left for the
    row's own check to reject; they do not decide the column's shape.
    """
    if date_format:
        return _explicit(date_format)
    per_value: list[tuple[int, str, dict[Shape | str, datetime]]] = []
    for line, text in cells:
        if text.strip():
            found = readings(text)
            if found and "named" not in found:
                per_value.append((line, text.strip(), found))
    if not per_value:
        return DateReader()
    common: set[Shape] = {s for s in per_value[0][2] if isinstance(s, Shape)}
    for _, _, found in per_value[1:]:
        common &= {s for s in found if isinstance(s, Shape)}
    hint = "; say how to read it with --date-format DMY, MDY or YMD (or a pattern such as %d/%m/%Y)"
    if not common:
        first: dict[frozenset[Shape | str], tuple[int, str]] = {}
        for line, text, found in per_value:
            first.setdefault(frozenset(found), (line, text))
        raise ValidationFailed(
            f"the dates in column {column!r} change format partway through the file ("
            f"{_fmt(list(first.values())[:EXAMPLES])}){hint}",
            field=column,
            code="mixed_date_formats",
        )
    if len(common) == 1:
        return DateReader(shape=next(iter(common)))
    shapes = sorted(common, key=lambda s: s.order)
    differing = [
        (line, text) for line, text, found in per_value if len({found[s] for s in shapes}) > 1
    ]
    if not differing:
        return DateReader(shape=shapes[0])
    readings_named = " or ".join(s.describe() for s in shapes)
    raise ValidationFailed(
        f"the dates in column {column!r} can be read as {readings_named}, and the readings "
        f"differ ({_fmt(differing[:EXAMPLES])}){hint}",
        field=column,
        code="ambiguous_dates",
    )
