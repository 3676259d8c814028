"""The segments-and-guidance panel on the case page (the segments helper fills it in)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("segments/_case_panel.html", takes_context=True)
def case_segments(context: Any, case: Any) -> dict[str, Any]:
    return {"case": case}
