"""Playbooks for tests, built through the services so every rule (and the coach) applies."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from bounceback.accounts.roles import Role
from bounceback.playbooks.models import Playbook
from bounceback.playbooks.services import (
    ActionInput,
    CompensationInput,
    ContactInput,
    PlaybookContent,
    TemplateInput,
    playbook_create,
)

_names = itertools.count(1)

# Templates that pass the apology coach: sorry, ours, the fix and the prevention.
TEMPLATES: dict[str, tuple[str, str]] = {
    "apology": (
        "We're sorry: {{ breakdown.title }}",
        "Dear {{ customer.first_name }}, I'm sorry: {{ breakdown.title }} was our failure "
        "and it spoiled your plans at {{ site.name }}. We let you down and that is on us.",
    ),
    "explanation": (
        "",
        "Here is what happened: we did not have a backup ready when it went wrong on "
        "{{ window.start }}. We are adding a second backup so this does not happen again.",
    ),
    "alternatives": (
        "",
        "We will refund your booking in full, or rebook you for another date at no cost: "
        "reply to this message and quote {{ case.reference }}.",
    ),
    "status_update": (
        "Update: {{ breakdown.title }}",
        "An update on {{ breakdown.title }}: our team is still working on it and we will "
        "write again within the hour.",
    ),
    "all_clear": (
        "All clear: {{ breakdown.title }}",
        "Good news, {{ customer.first_name }}: {{ breakdown.title }} is over and "
        "{{ site.name }} is back to normal. Thank you for your patience.",
    ),
}


def playbook_content(**overrides: Any) -> PlaybookContent:
    """A complete version: three actions, all five templates in English email, two segments."""
    values: dict[str, Any] = {
        "applies_when": "The venue loses power or cannot run the event as booked.",
        "backup_resources": "Generator contractor on call; overflow room at the sister venue.",
        "escalation_contacts": [
            ContactInput(name="Dana Reyes", role="Duty manager", phone="+15550100"),
        ],
        "actions": [
            ActionInput(
                title="Confirm what happened on site", owner_role=Role.LEAD, target_minutes=5
            ),
            ActionInput(title="Call the contractor", owner_role=Role.MANAGER, target_minutes=10),
            ActionInput(
                title="Message affected customers",
                owner_role=Role.AGENT,
                target_minutes=30,
                details="Use the outreach screen.",
            ),
        ],
        "templates": [
            TemplateInput(purpose=purpose, channel="email", language="en", subject=s, body=b)
            for purpose, (s, b) in TEMPLATES.items()
        ],
        "compensations": [
            CompensationInput(
                segment="all",
                kind="voucher",
                amount=Decimal("20.00"),
                currency="USD",
                description="Voucher for the next event",
            ),
            CompensationInput(
                segment="vip",
                kind="refund",
                amount=Decimal("100.00"),
                currency="USD",
                description="Full refund",
            ),
        ],
        "change_note": "First version",
    }
    values.update(overrides)
    return PlaybookContent(**values)


def make_playbook(**overrides: Any) -> Playbook:
    """A playbook with a current version 1 (see playbook_content).

    Overrides: name, failure_mode, breakdown_type, actor, and any PlaybookContent
    field (actions=[...], templates=[...], ...), or content=PlaybookContent(...).
    """
    name = overrides.pop("name", None) or f"Playbook {next(_names)}"
    failure_mode = overrides.pop("failure_mode", None)
    breakdown_type = overrides.pop(
        "breakdown_type", "" if failure_mode is not None else "power outage"
    )
    actor = overrides.pop("actor", None)
    content = overrides.pop("content", None) or playbook_content(**overrides)
    return playbook_create(
        actor=actor,
        name=name,
        failure_mode=failure_mode,
        breakdown_type=breakdown_type,
        content=content,
    )
