"""Cursor (keyset) pagination for list endpoints.

A cursor names the last row of the previous page, so pages stay stable while
rows are added and deep pages cost the same as the first one.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet

from bounceback.errors import ValidationFailed
from bounceback.keyset import Order, keyset_page

M = TypeVar("M", bound=Model)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= settings.API_PAGE_SIZE_MAX:
        raise ValidationFailed(
            f"limit must be between 1 and {settings.API_PAGE_SIZE_MAX}", field="limit"
        )
    return limit


def cursor_page(
    queryset: QuerySet[M], *, cursor: str | None, limit: int, order_field: str, descending: bool
) -> tuple[list[M], str | None]:
    """One page of `queryset` ordered by (order_field, id), and the cursor of the next page.

    The cursor is a row-value comparison (bounceback/keyset.py), so a deep page
    is an index range scan like the first one.
    """
    check_limit(limit)
    return keyset_page(
        queryset, order=Order(order_field, descending=descending), after=cursor, limit=limit
    )


class PageAsked(Protocol):
    """What a list endpoint's filters say about the page: `PageFilters` and kin."""

    @property
    def cursor(self) -> str | None: ...

    @property
    def limit(self) -> int: ...


def page_answer(
    queryset: QuerySet[M], filters: PageAsked, *, order_field: str, descending: bool
) -> dict[str, Any]:
    """A list endpoint's answer: the page `filters` asks for, and the next page's cursor."""
    items, next_cursor = cursor_page(
        queryset,
        cursor=filters.cursor,
        limit=filters.limit,
        order_field=order_field,
        descending=descending,
    )
    return {"items": items, "next_cursor": next_cursor}
