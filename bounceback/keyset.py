"""Keyset (cursor) pagination with row-value comparisons, for any ordered list.

A page after the row (v, id) is `WHERE (col, id) > (v, id)`, one comparison
both PostgreSQL and SQLite turn into a range scan of an index on (col, id).
The same condition written with OR (`col > v OR (col = v AND id > id)`) makes
PostgreSQL scan every row before the cursor, so deep pages cost more and more.

An ascending order on a nullable column sorts NULLs last: the page walks the
non-NULL rows first, then the NULL ones by id, in at most two queries, so the
indexes still serve both parts (`IS NULL` and a range are each one index scan;
their OR is not).

A cursor is opaque to clients: base64 of JSON [value, id], where a datetime
travels as {"dt": iso} and a Decimal as {"dec": text}.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import BooleanField, F, Field, Func, Model, QuerySet, Value
from django.utils.dateparse import parse_datetime

from bounceback.errors import ValidationFailed

M = TypeVar("M", bound=Model)


class _Row(Func):
    template = "(%(expressions)s)"


def _column(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if not isinstance(field, Field):
        raise ValueError(f"{name} is not a column of {model.__name__}")
    return field


class RowCompare(Func):
    """`(a, b) > (x, y)` (or `<`): true for rows after (x, y) in the order (a, b)."""

    template = "%(expressions)s"
    output_field = BooleanField()

    def __init__(self, model: type[Model], fields: Sequence[str], values: Sequence[Any], op: str):
        if op not in {"<", ">"}:
            raise ValueError(op)
        # Each value is adapted as its column stores it (SQLite keeps datetimes as text).
        typed = [
            Value(v, output_field=_column(model, f)) for f, v in zip(fields, values, strict=True)
        ]
        super().__init__(_Row(*[F(f) for f in fields]), _Row(*typed))
        self.arg_joiner = f" {op} "


def cursor_encode(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    elif isinstance(value, Decimal):
        value = {"dec": str(value)}
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str, *, field: str = "cursor") -> tuple[Any, int]:
    """(value, id) of a cursor this module made; ValidationFailed on anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = parse_datetime(value["dt"])
            if value is None:
                raise ValueError
        elif isinstance(value, dict) and "dec" in value:
            value = Decimal(value["dec"])
        elif isinstance(value, (dict, list)):
            raise ValueError
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError
        return value, pk
    except (ValueError, TypeError, json.JSONDecodeError, ArithmeticError):
        raise ValidationFailed(f"{field} is not one this list handed out", field=field) from None


@dataclass(frozen=True)
class Order:
    """A list's order: one column then the primary key, both the same direction."""

    field: str
    descending: bool = False
    # The column can be NULL; NULLs come after every value (ascending only).
    nulls_last: bool = False


def keyset_page(
    queryset: QuerySet[M], *, order: Order, after: str | None, limit: int, field: str = "cursor"
) -> tuple[list[M], str | None]:
    """Up to `limit` rows after the cursor `after`, and the cursor of the next page (or None)."""
    if order.nulls_last and order.descending:
        raise ValueError("NULLs last is for ascending orders")
    sign = "-" if order.descending else ""
    op = "<" if order.descending else ">"
    value: Any = None
    pk: int | None = None
    if after:
        value, pk = cursor_decode(after, field=field)
    rows: list[M] = []
    if not order.nulls_last or value is not None or pk is None:
        part = queryset.order_by(f"{sign}{order.field}", f"{sign}pk")
        if order.nulls_last:
            part = part.filter(**{f"{order.field}__isnull": False})
        if pk is not None:
            part = part.filter(RowCompare(queryset.model, [order.field, "pk"], [value, pk], op))
        rows = list(part[: limit + 1])
    if order.nulls_last and len(rows) <= limit:
        tail = queryset.filter(**{f"{order.field}__isnull": True}).order_by("pk")
        if value is None and pk is not None:
            tail = tail.filter(pk__gt=pk)
        rows += list(tail[: limit + 1 - len(rows)])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, cursor_encode(getattr(last, order.field), last.pk)
