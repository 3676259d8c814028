from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """`row.scores|get_item:key`: a dict's value by a variable key (None when absent)."""
    if mapping is None:
        return None
    return mapping.get(key)
