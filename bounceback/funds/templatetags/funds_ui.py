"""The recovery-fund panel on the case page (the funds helper fills it in)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("funds/_case_panel.html", takes_context=True)
def case_funds(context: Any, case: Any) -> dict[str, Any]:
    return {"case": case}
