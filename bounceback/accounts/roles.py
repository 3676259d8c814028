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
    # Everyone sees the catalog, proposes failure modes and votes on them,
    # reads playbooks and breakdowns, and ticks off checklist actions.
    "failuremodes.view_touchpoint",
    "failuremodes.view_failuremode",
    "failuremodes.add_failuremode",
    "playbooks.view_playbook",
    "breakdowns.view_breakdown",
    "breakdowns.work_breakdown",
    # Received email a person must look at (unreadable, unknown thread).
    "mail.view_inboundemail",
    "mail.change_inboundemail",
    # Everyone may make things right within their allowance, and sees the
    # customer's segments and the guidance that comes with them.
    "funds.view_grant",
    "funds.add_grant",
    "funds.redeem_voucher",
    "segments.view_segment",
    # Everyone inserts the team's canned replies into their messages.
    "replies.view_cannedreply",
    # What other systems told us about a customer (surveys, reviews, late orders).
    "signals.view_signal",
    # The negativity cue and score; the rules and suspected breakdowns on /discovery/.
    "discovery.view_rule",
    "discovery.view_suspectedbreakdown",
    # Everyone sees the themes, the problems and what worked before.
    "learning.view_theme",
    "learning.view_problem",
    # Everyone reads, drafts, edits and nominates recovery stories.
    "stories.view_story",
    "stories.add_story",
    "stories.change_story",
    "stories.view_recognition",
    # Everyone sees drills, takes part and logs decisions in them.
    "drills.view_drill",
    "drills.add_drilllogentry",
]

# Approvers: above an agent's allowance a grant waits for one of these.
_APPROVALS = [
    "funds.decide_approvalrequest",
    "funds.view_approvalrequest",
    "funds.view_ledgerentry",
]

# Managers set the money rules and the segments.
_FUND_RULES = [
    "funds.view_allowancepolicy",
    "funds.change_allowancepolicy",
    "funds.add_allowancepolicy",
    "funds.reverse_grant",
    "segments.add_segment",
    "segments.change_segment",
]

# Leads and managers run the catalog, write playbooks and declare breakdowns.
_CONTINGENCY_PLANNING = [
    "failuremodes.decide_failuremode",
    "failuremodes.change_failuremode",
    "failuremodes.add_touchpoint",
    "failuremodes.change_touchpoint",
    "playbooks.add_playbook",
    "playbooks.change_playbook",
    "breakdowns.declare_breakdown",
    # Leads and managers keep the team's canned replies.
    "replies.add_cannedreply",
    "replies.change_cannedreply",
    # Discovery: write rules, declare or dismiss suspected breakdowns.
    "discovery.manage_rule",
    "discovery.view_discovery",
    # ... and keep the learning: name, merge and split themes, run problem records.
    "learning.change_theme",
    "learning.add_problem",
    "learning.change_problem",
]

# Managers wire the business to other systems: webhook subscriptions and
# inbound message channels (chat, social, SMS providers).
_INTEGRATIONS = [
    "webhooks.view_webhooksubscription",
    "webhooks.add_webhooksubscription",
    "webhooks.change_webhooksubscription",
    "webhooks.view_inboundchannel",
    "webhooks.add_inboundchannel",
    "webhooks.change_inboundchannel",
    "signals.add_signal",
]

# Leads and managers publish recovery stories and recognise the people in them.
_RECOGNITION = ["stories.publish_story", "stories.add_recognition"]

# Leads and managers run drills; managers also set them up, write scenarios
# and schedule them.
_DRILLS_RUN = ["drills.change_drill"]
_DRILLS_MANAGE = ["drills.add_drill", "drills.change_drill"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: _CRM_WORK,
    Role.LEAD: [
        *_CRM_WORK,
        "imports.run_import",
        "accounts.view_team",
        "cases.view_recoverypolicy",
        "outbox.view_outboundmessage",
        "outbox.change_outboundmessage",
        *_CONTINGENCY_PLANNING,
        *_APPROVALS,
        *_RECOGNITION,
        *_DRILLS_RUN,
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
        *_CONTINGENCY_PLANNING,
        *_INTEGRATIONS,
        *_APPROVALS,
        *_FUND_RULES,
        *_RECOGNITION,
        *_DRILLS_MANAGE,
    ],
    # Senior management: the last approver, and sees every exception to policy.
    Role.EXECUTIVE: [
        *_CRM_WORK,
        "accounts.view_team",
        "audit.view_auditevent",
        *_APPROVALS,
        "funds.view_exceptions",
    ],
    # Admins are superusers in all but name: they get every permission.
    Role.ADMIN: ["*"],
}


def role_rank(role: str) -> int:
    return ROLE_ORDER.index(Role(role))
