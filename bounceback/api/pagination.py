"""Cursor (keyset) pagination for list endpoints.

A cursor names the last row of the previous page, so pages stay stable while
rows are added and deep pages cost the same as the first one.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model, Q, QuerySet
from django.utils.dateparse import parse_datetime

from bounceback.errors import ValidationFailed

M = TypeVar("M", bound=Model)


def _encode(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    elif isinstance(value, Decimal):
        value = {"dec": str(value)}
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = parse_datetime(value["dt"])
        elif isinstance(value, dict) and "dec" in value:
            value = Decimal(value["dec"])
        if not isinstance(pk, int):
            raise ValueError
        return value, pk
    except (ValueError, TypeError, json.JSONDecodeError, ArithmeticError):
        raise ValidationFailed("cursor is not one this API handed out", field="cursor") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= settings.API_PAGE_SIZE_MAX:
        raise ValidationFailed(
            f"limit must be between 1 and {settings.API_PAGE_SIZE_MAX}", field="limit"
        )
    return limit


def cursor_page(
    queryset: QuerySet[M], *, cursor: str | None, limit: int, order_field: str, descending: bool
) -> tuple[list[M], str | None]:
    """One page of `queryset` ordered by (order_field, id), and the cursor of the next page."""
    check_limit(limit)
    sign = "-" if descending else ""
    queryset = queryset.order_by(f"{sign}{order_field}", f"{sign}pk")
    if cursor:
        value, pk = _decode(cursor)
        op = "lt" if descending else "gt"
        queryset = queryset.filter(
            Q(**{f"{order_field}__{op}": value}) | Q(**{order_field: value, f"pk__{op}": pk})
        )
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, _encode(getattr(last, order_field), last.pk)
