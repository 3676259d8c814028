"""The demo's recovery funds: allowances, a history of gestures, and approvals waiting.

Everything goes through the funds services, as staff on the pages would: each
role's allowance is written by the operations manager (one person has an
override), the care agent makes gestures on open cases (one voucher since
redeemed at the box office, one reversed, one an exception to policy), and two
larger ones wait for approval, one at a lead and one at a manager, their
timers running. Call after the demo's staff and cases are loaded.
"""

from __future__ import annotations

from decimal import Decimal

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.cases.models import Case
from bounceback.funds.models import Period
from bounceback.funds.services import (
    allowance_override_set,
    allowance_policy_set,
    grant_create,
    grant_reverse,
    voucher_redeem,
)

# (per case, budget, period) per role: an agent settles most things alone;
# executives stop at the Ritz-Carlton figure per guest.
POLICIES = {
    Role.AGENT: ("150", "1500", Period.MONTH),
    Role.LEAD: ("500", "5000", Period.MONTH),
    Role.MANAGER: ("2000", "20000", Period.MONTH),
    Role.EXECUTIVE: ("2000", "100000", Period.QUARTER),
    Role.ADMIN: ("2000", "100000", Period.QUARTER),
}


def _user(username: str) -> User:
    return User.objects.get(username=username)


# A demo script: reads top to bottom like the story it tells.
def load_funds() -> None:
    manager = _user("manager")
    # Every role's figures, set by the administrator: a manager may set only
    # the ranks below their own.
    admin = _user("admin")
    for role, (per_case, budget, period) in POLICIES.items():
        allowance_policy_set(
            role=role,
            actor=admin,
            per_case_limit=Decimal(per_case),
            period=period,
            period_budget=Decimal(budget),
        )
    # Tom runs the box office queue: he settles bigger ticket problems alone.
    allowance_override_set(user=_user("tom.becker"), actor=manager, per_case_limit=Decimal("300"))

    agent = _user("agent")
    open_cases = list(
        Case.objects.exclude(status=Case.Status.CLOSED)
        .filter(breakdown__isnull=True)
        .select_related("customer")
        .order_by("id")[:7]
    )
    if len(open_cases) < 7:
        return
    refund, voucher, credit, reversed_, bent, to_lead, to_manager = open_cases

    grant_create(
        case=refund,
        actor=agent,
        kind="refund",
        value=Decimal("45.00"),
        reason="Paid for a seat that was not there when they arrived.",
        message="We have refunded the 45.00 for the seat we could not give you.",
    )
    spent = grant_create(
        case=voucher,
        actor=agent,
        kind="voucher",
        value=Decimal("30.00"),
        reason="Waited an hour past the booked time.",
        customer_proposed=True,
    )
    voucher_redeem(code=spent.voucher.code, by="Box office till 2", reference="TILL-2-0417")
    grant_create(
        case=credit,
        actor=agent,
        kind="upgrade",
        value=Decimal("60.00"),
        estimated=True,
        reason="Moved to the front stalls at the next show to make up for the noise.",
    )
    given_twice = grant_create(
        case=reversed_,
        actor=agent,
        kind="credit",
        value=Decimal("25.00"),
        reason="Account credit for the late delivery.",
    )
    grant_reverse(
        grant=given_twice,
        actor=manager,
        reason="Given twice: the delivery fee was already refunded by the courier.",
    )
    grant_create(
        case=bent,
        actor=agent,
        kind="refund",
        value=Decimal("80.00"),
        reason="Missed the show because of a family emergency.",
        exception_to_policy=True,
        policy_bent="No refunds after the performance has started",
    )
    # Above the agent's 150: waits for a lead.
    grant_create(
        case=to_lead,
        actor=agent,
        kind="refund",
        value=Decimal("320.00"),
        reason="A party of four turned away at the door; the booking was ours to lose.",
        customer_proposed=True,
    )
    # Above a lead's 500 too: goes straight to a manager.
    grant_create(
        case=to_manager,
        actor=agent,
        kind="gift",
        value=Decimal("900.00"),
        estimated=True,
        reason="Wedding reception catering arrived two hours late.",
    )
