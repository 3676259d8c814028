"""The segments-and-guidance panel on the case page: one query (the customer's segments)."""

from __future__ import annotations

from typing import Any

from django import template

from bounceback.accounts.roles import Role
from bounceback.cases.models import Severity
from bounceback.segments.selectors import customer_approach

register = template.Library()


@register.inclusion_tag("segments/_case_panel.html", takes_context=True)
def case_segments(context: Any, case: Any) -> dict[str, Any]:
    # The instance, not the id: the fund panel asks about the same customer.
    approach = customer_approach(case.customer)
    return {
        "case": case,
        "approach": approach,
        "severity_floor": (
            Severity(approach.minimum_severity).label if approach.minimum_severity else ""
        ),
        "senior_role": Role(approach.senior_handling).label if approach.senior_handling else "",
        # The share fixed when the case opened is what its timers run on; the
        # customer's segments may have changed since.
        "case_timer_percent": case.timer_percent,
    }
