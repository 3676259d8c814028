"""The recovery-fund panel on the case page: the staff member's limits, the grants, the form."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("funds/_case_panel.html", takes_context=True)
def case_funds(context: Any, case: Any) -> dict[str, Any]:
    from bounceback.funds.views import panel_context

    request = context.get("request")
    if request is None or not getattr(request.user, "is_authenticated", False):
        return {"case": case, "hidden": True}
    panel = panel_context(request, case)
    panel["now"] = context.get("now")
    panel["csrf_token"] = context.get("csrf_token")
    return panel
