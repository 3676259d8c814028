from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from bounceback.accounts.roles import Role
from bounceback.web.permissions import has_role_at_least, is_admin


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The sections shown in the top navigation, marking the current one.

    Each item is (label, url, is_current); a section the user may not open is
    left out rather than shown and refused.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "unread_notifications": 0}
    path = request.path
    wanted: list[tuple[str, str, bool]] = [("Home", reverse("home"), True)]
    wanted += [
        ("Cases", reverse("cases:inbox"), user.has_perm("cases.view_case")),
        ("Breakdowns", reverse("breakdowns:list"), user.has_perm("breakdowns.view_breakdown")),
        ("Discovery", reverse("discovery:overview"), user.has_perm("discovery.view_discovery")),
        ("Customers", reverse("customers:list"), user.has_perm("customers.view_customer")),
        ("Mail", reverse("mail:list"), user.has_perm("mail.view_inboundemail")),
        ("Segments", reverse("segments:list"), user.has_perm("segments.view_segment")),
        ("Loyalty", reverse("loyalty:report"), has_role_at_least(user, Role.LEAD)),
        (
            "Transactions",
            reverse("transactions:list"),
            user.has_perm("transactions.view_transaction"),
        ),
        # Planning ahead: what can go wrong, and the plan for each.
        (
            "Catalog",
            reverse("failuremodes:catalog"),
            user.has_perm("failuremodes.view_failuremode"),
        ),
        ("Playbooks", reverse("playbooks:list"), user.has_perm("playbooks.view_playbook")),
        # Practising the playbooks in a sandbox.
        ("Drills", reverse("drills:library"), user.has_perm("drills.view_drill")),
        ("Replies", reverse("replies:list"), user.has_perm("replies.view_cannedreply")),
        # Learning from the past: themes, problem records, trends.
        ("Learning", reverse("learning:themes"), user.has_perm("learning.view_theme")),
        # Recovery stories told from happy cases, and the recognition they earned.
        ("Stories", reverse("stories:library"), user.has_perm("stories.view_story")),
        (
            "Funds",
            reverse("funds:overview"),
            user.has_perm("funds.view_ledgerentry") or user.has_perm("funds.view_approvalrequest"),
        ),
        (
            "Integrations",
            reverse("webhooks:integrations"),
            user.has_perm("webhooks.view_webhooksubscription"),
        ),
        (
            "Deliveries",
            reverse("background:failed"),
            user.has_perm("outbox.change_outboundmessage"),
        ),
        ("Audit log", reverse("audit:list"), user.has_perm("audit.view_auditevent")),
        ("Teams", reverse("team_list"), user.has_perm("accounts.change_team")),
    ]
    admin = is_admin(user)
    wanted += [
        ("Staff", reverse("staff_list"), admin),
        ("API tokens", reverse("apitokens:list"), admin),
    ]
    items = []
    for label, url, allowed in wanted:
        if not allowed:
            continue
        current = path == url if url == "/" else path.startswith(url)
        items.append((label, url, current))
    # For the bell in the header; counted only when a template shows it.
    unread = SimpleLazyObject(lambda: _unread_count(user))
    # The sections used all day stay in the bar; the rest sit under "More", so the
    # bar keeps to one line at 1280 px whatever the role.
    primary = [item for item in items if item[0] in PRIMARY]
    more = [item for item in items if item[0] not in PRIMARY]
    return {
        "nav_items": items,
        "nav_primary": primary,
        "nav_more": more,
        "nav_more_current": any(current for _, _, current in more),
        "unread_notifications": unread,
    }


PRIMARY = frozenset({"Home", "Cases", "Breakdowns", "Customers", "Mail", "Catalog", "Playbooks"})


def _unread_count(user: Any) -> int:
    from bounceback.notifications.models import Notification

    return Notification.objects.filter(recipient=user).unread().count()
