"""The demo's segments: who gets a different approach, and why.

Written through the segment services as a manager would on the segments page,
then recomputed. Call after the demo's customers, transactions and cases are
loaded (membership depends on them). Rules are ANDed, so "chronic complainer"
is two segments with the same guidance: the tag staff give, and the pattern
of four or more cases in six months.
"""

from __future__ import annotations

from typing import Any

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.cases.models import Severity
from bounceback.segments.models import Segment
from bounceback.segments.services import segment_create, segment_memberships_recompute

PATIENCE = (
    "Be patient and document everything: write down what was promised and when, "
    "answer every point, and keep to the recovery sequence even when the tone is sharp."
)

SEGMENTS: list[dict[str, Any]] = [
    {
        "name": "High value",
        "slug": "high-value",
        "description": "Customers who have spent the most with us.",
        "rules": [{"field": "lifetime_value", "op": ">=", "value": "5000"}],
        "priority": 10,
        "minimum_severity": Severity.HIGH,
        "timer_percent": 50,
        "senior_handling": Role.LEAD,
        "guidance": (
            "Offer an immediate solution: fix it now, on the spot, and tell them what you did. "
            "Do not make them wait for a callback."
        ),
        "compensation_tier": "500.00",
    },
    {
        "name": "VIP",
        "slug": "vip",
        "description": "Tagged by staff: corporate clients, patrons and partners.",
        "rules": [{"field": "tag", "op": "has", "value": "vip"}],
        "priority": 20,
        "minimum_severity": Severity.HIGH,
        "timer_percent": 75,
        "senior_handling": Role.MANAGER,
        "guidance": "Call them personally; a manager follows up the next day.",
        "compensation_tier": "300.00",
    },
    {
        "name": "At risk",
        "slug": "at-risk",
        "description": "Their last follow-up answer was unhappy.",
        "rules": [{"field": "satisfaction", "op": "=", "value": "unhappy"}],
        "priority": 30,
        "timer_percent": 75,
        "guidance": (
            "Last time we did not win them back. Read the previous case first and "
            "acknowledge it in your apology."
        ),
    },
    {
        "name": "Chronic complainer",
        "slug": "chronic-complainer",
        "description": "Tagged by staff after a pattern of complaints.",
        "rules": [{"field": "tag", "op": "has", "value": "chronic-complainer"}],
        "priority": 40,
        "guidance": PATIENCE,
    },
    {
        "name": "Frequent complainer",
        "slug": "frequent-complainer",
        "description": "Four or more cases in six months.",
        "rules": [{"field": "cases_recent", "op": ">=", "value": 4, "months": 6}],
        "priority": 45,
        "guidance": PATIENCE,
    },
    {
        "name": "Loyal",
        "slug": "loyal",
        "description": "Five or more purchases in the last twelve months.",
        "rules": [{"field": "transactions", "op": ">=", "value": 5, "months": 12}],
        "priority": 50,
        "guidance": (
            "Thank them for their loyalty by name; they have earned the benefit of the doubt."
        ),
        "compensation_tier": "200.00",
    },
    {
        "name": "New",
        "slug": "new",
        "description": "With us for less than 90 days.",
        "rules": [{"field": "tenure_days", "op": "<=", "value": 89}],
        "priority": 60,
        "guidance": (
            "A first impression is being made: explain how things work here and what happens next."
        ),
    },
]


def load_segments() -> None:
    """Create the demo's segments (skipping slugs that exist) and compute their members."""
    manager = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("pk").first()
    existing = set(Segment.objects.values_list("slug", flat=True))
    for values in SEGMENTS:
        if values["slug"] not in existing:
            segment_create(actor=manager, **values)
    segment_memberships_recompute()
