from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from bounceback.dashboards.selectors import TileRow

register = template.Library()


def _format(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "share":
        return f"{value * 100:.0f}%"
    if unit == "money":
        return f"{Decimal(value):,.2f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


@register.filter
def cells(row: TileRow, columns: list[tuple[str, str, str]]) -> list[str]:
    """The row's values in the tile's column order, formatted as the table shows them."""
    return [_format(row.values.get(key), unit) for key, _heading, unit in columns]


@register.filter
def share(value: float | None) -> str:
    return _format(value, "share")
