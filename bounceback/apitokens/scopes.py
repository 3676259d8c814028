"""The scopes an API token can carry.

Each API endpoint names the scope it needs; a token without it gets a 403.
`<area>:read` allows reads, `<area>:write` allows reads and writes.
"""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "customers:read": "Read customers and their timelines",
    "customers:write": "Create and update customers",
    "transactions:read": "Read transactions",
    "transactions:write": "Create, update and bulk-upsert transactions",
    "interactions:read": "Read interactions",
    "interactions:write": "Log interactions",
    "cases:read": "Read cases, their timers and timelines",
    "cases:write": "Open cases and move them through the recovery sequence",
    "catalog:read": "Read touchpoints, failure modes and the coverage report",
    "catalog:write": "Propose, vote on, score and decide failure modes; edit touchpoints",
    "playbooks:read": "Read playbooks and their versions",
    "playbooks:write": "Create and revise playbooks",
    "breakdowns:read": "Read breakdowns, their progress and reviews",
    "breakdowns:write": "Declare breakdowns, run outreach, post updates, give the all-clear",
    "mail:read": "Read received email, including messages held for a person to look at",
    "mail:write": "Hand in raw email for intake; release or discard held messages",
    "webhooks:read": "Read webhook subscriptions, their delivery log and inbound channels",
    "webhooks:write": "Create, change, disable and re-enable webhook subscriptions and channels",
    "funds:read": "Read grants, approvals, allowances, balances and the ledger",
    "funds:write": "Grant compensation, decide approvals, reverse grants, set allowances",
    "vouchers:redeem": "Look up and redeem vouchers (for a till or booking system)",
    "segments:read": "Read segments, their rules, approaches and members",
    "segments:write": "Create and change segments and recompute membership",
    "dashboards:read": "Read dashboard tiles (as the person who made the token sees them), the "
    "cases behind each figure and first response times",
    "loyalty:read": "Read loyalty after recovery: cohorts, return rates, money, their customers",
    "learning:read": "Read themes, the theme of each case, problem records and Pareto",
    "learning:write": "Name, merge and split themes; open and run problem records",
    "stories:read": "Read recovery stories and recognition counts",
    "stories:write": "Draft, edit, nominate and publish stories; recognise staff",
    "drills:read": "Read drill scenarios, drills, their scores, debriefs, readiness and coverage",
    "drills:write": "Write scenarios, set up, start, step, end and rate drills; schedule them",
    "deliveries:read": "Read messages and webhook events that failed to be delivered",
    "deliveries:write": "Send a failed message or webhook event again",
    "signals:read": "Read signals (survey answers, reviews, mentions, operational events)",
    "signals:write": "Record signals, one at a time or in bulk",
    "discovery:read": "Score texts for negativity, read rules, previews, scans and suspected "
    "breakdowns",
    "discovery:write": "Write and switch rules, record scans, declare or dismiss suspected "
    "breakdowns",
}


def scope_allows(granted: list[str], needed: str) -> bool:
    if needed in granted:
        return True
    area, _, level = needed.partition(":")
    return level == "read" and f"{area}:write" in granted
