"""Staff roles and what each may do.

Roles are Django groups so permissions stay the stock mechanism; this module is
the one place that says which permissions a role carries. `roles_sync` rewrites
the groups from it after every migrate, so a new permission reaches its roles
without a hand-written data migration.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    LEAD = "lead", "Team lead"
    MANAGER = "manager", "Manager"
    EXECUTIVE = "executive", "Executive"
    ADMIN = "admin", "Administrator"


# Ordered from least to most senior: escalation walks this list upwards.
ROLE_ORDER = [Role.AGENT, Role.LEAD, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN]

_CRM_WORK = [
    "customers.view_customer",
    "customers.add_customer",
    "customers.change_customer",
    "transactions.view_transaction",
    "transactions.add_transaction",
    "transactions.change_transaction",
    "interactions.view_interaction",
    "interactions.add_interaction",
    "interactions.change_interaction",
    "sites.view_site",
    "cases.view_case",
    "cases.add_case",
    "cases.change_case",
    "notifications.view_notification",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: _CRM_WORK,
    Role.LEAD: [
        *_CRM_WORK,
        "imports.run_import",
        "accounts.view_team",
        "cases.view_recoverypolicy",
        "outbox.view_outboundmessage",
        "outbox.change_outboundmessage",
    ],
    Role.MANAGER: [
        *_CRM_WORK,
        "imports.run_import",
        "accounts.view_team",
        "accounts.change_team",
        "sites.add_site",
        "sites.change_site",
        "audit.view_auditevent",
        "cases.change_recoverypolicy",
        "cases.view_recoverypolicy",
        "timers.add_businesscalendar",
        "timers.change_businesscalendar",
        "outbox.view_outboundmessage",
        "outbox.change_outboundmessage",
    ],
    Role.EXECUTIVE: [*_CRM_WORK, "accounts.view_team", "audit.view_auditevent"],
    # Admins are superusers in all but name: they get every permission.
    Role.ADMIN: ["*"],
}


def role_rank(role: str) -> int:
    return ROLE_ORDER.index(Role(role))
