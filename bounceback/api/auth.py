"""Who is calling the API, and may they do this.

Machines authenticate with a bearer token; people use their browser session
(with CSRF). Endpoints call `require_scope` first thing (or
`bounceback.api.endpoints.act`, which also says who acts): a token must carry
the scope, a person must hold the matching Django permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from bounceback.actors import Actor, actor_of
from bounceback.apitokens.models import ApiToken
from bounceback.apitokens.scopes import scope_allows
from bounceback.apitokens.services import token_authenticate
from bounceback.errors import Forbidden

if TYPE_CHECKING:
    from bounceback.accounts.models import User


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return token_authenticate(plaintext=token)


class StaffSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = super().authenticate(request, key)
        if user is not None and user.is_active:
            return user
        return None


# A scope maps to the Django permissions a signed-in person needs for it.
_SCOPE_PERMISSIONS: dict[str, list[str]] = {
    "customers:read": ["customers.view_customer"],
    "customers:write": ["customers.add_customer", "customers.change_customer"],
    "transactions:read": ["transactions.view_transaction"],
    "transactions:write": ["transactions.add_transaction", "transactions.change_transaction"],
    "interactions:read": ["interactions.view_interaction"],
    "interactions:write": ["interactions.add_interaction"],
    "cases:read": ["cases.view_case"],
    "cases:write": ["cases.add_case", "cases.change_case"],
    "catalog:read": ["failuremodes.view_failuremode"],
    # Proposing and voting; accepting, rejecting and editing scores check
    # failuremodes.decide_failuremode / change_failuremode in the endpoint.
    "catalog:write": ["failuremodes.add_failuremode"],
    "playbooks:read": ["playbooks.view_playbook"],
    "playbooks:write": ["playbooks.add_playbook", "playbooks.change_playbook"],
    "breakdowns:read": ["breakdowns.view_breakdown"],
    "breakdowns:write": ["breakdowns.declare_breakdown"],
    "mail:read": ["mail.view_inboundemail"],
    "mail:write": ["mail.change_inboundemail"],
    "webhooks:read": ["webhooks.view_webhooksubscription"],
    "webhooks:write": ["webhooks.add_webhooksubscription", "webhooks.change_webhooksubscription"],
    "funds:read": ["funds.view_grant"],
    # Deciding approvals, reversing and allowance settings check their own
    # permissions in the endpoint.
    "funds:write": ["funds.add_grant"],
    "vouchers:redeem": ["funds.redeem_voucher"],
    "segments:read": ["segments.view_segment"],
    "segments:write": ["segments.add_segment", "segments.change_segment"],
    "learning:read": ["learning.view_theme", "learning.view_problem"],
    "learning:write": ["learning.change_theme", "learning.change_problem"],
    "deliveries:read": ["outbox.view_outboundmessage"],
    "deliveries:write": ["outbox.change_outboundmessage"],
    "signals:read": ["signals.view_signal"],
    "signals:write": ["signals.add_signal"],
    "discovery:read": ["discovery.view_rule"],
    "discovery:write": ["discovery.manage_rule"],
    # Publishing and recognising check stories.publish_story / add_recognition in the service.
    "stories:read": ["stories.view_story"],
    # Every staff member has a dashboard; which tiles they see depends on their role.
    "dashboards:read": ["cases.view_case"],
    "stories:write": ["stories.add_story", "stories.change_story"],
    # Everyone takes part (logs, ticks the checklist); running a drill checks
    # drills.change_drill and setting one up drills.add_drill in the service.
    "drills:read": ["drills.view_drill"],
    "drills:write": ["drills.view_drill", "drills.add_drilllogentry"],
}

api_auth = [TokenAuth(), StaffSessionAuth(csrf=True)]


# Where require_scope notes the scopes a request needed, so an Idempotency-Key
# replay of it can check them again (idempotency.py).
SCOPES_CHECKED = "_bounceback_scopes_checked"


def require_scope(request: HttpRequest, scope: str) -> None:
    checked = getattr(request, SCOPES_CHECKED, None)
    if checked is None:
        checked = []
        setattr(request, SCOPES_CHECKED, checked)
    if scope not in checked:
        checked.append(scope)
    principal = getattr(request, "auth", None)
    if isinstance(principal, ApiToken):
        if not scope_allows(principal.scopes, scope):
            raise Forbidden(f"this token lacks the {scope!r} scope", code="missing_scope")
        return
    user = principal if principal is not None else getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise Forbidden("sign in or send a token", code="not_authenticated")
    needed = _SCOPE_PERMISSIONS[scope]
    if not user.has_perms(needed):
        raise Forbidden(f"your role may not do this ({scope})", code="missing_permission")


def request_actor(request: HttpRequest) -> Actor:
    """Who is acting in this API call: a signed-in person, or a token for its creator."""
    principal = getattr(request, "auth", None)
    if isinstance(principal, ApiToken):
        return Actor.via_token(principal)
    return actor_of(principal if principal is not None else getattr(request, "user", None))
