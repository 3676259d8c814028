"""Granting gestures on a case: at once within the allowance, as an approval request above it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bounceback.accounts.roles import Role
from bounceback.cases.models import CaseEvent
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.funds.models import ApprovalRequest, Grant, LedgerEntry
from bounceback.funds.selectors import allowance_for, exceptions_to_policy
from bounceback.funds.services import grant_create
from bounceback.notifications.models import Notification
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.funds_factories import open_case, set_policy, staff
from bounceback.timers.models import Timer

pytestmark = pytest.mark.django_db


def _grant(case, actor, value="40.00", **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("kind", "refund")
    kwargs.setdefault("reason", "Delivery two days late")
    return grant_create(case=case, actor=actor, value=value, **kwargs)


def test_given_a_grant_within_the_allowance_when_granted_then_it_takes_effect_at_once() -> None:
    agent = staff(Role.AGENT)
    case = open_case()

    grant = _grant(case, agent, message="We have refunded {{ value }} to your card.")

    assert grant.state == Grant.State.GRANTED
    assert not ApprovalRequest.objects.exists()
    entry = LedgerEntry.objects.get(grant=grant)
    assert (entry.kind, entry.amount, entry.person_id) == ("grant", Decimal("40.00"), agent.pk)
    step = CaseEvent.objects.get(case=case, kind="compensation_granted")
    assert "Refund of 40.00" in step.summary
    sent = OutboundMessage.objects.get(customer=case.customer)
    assert "refunded 40.00 USD" in sent.body_text
    assert allowance_for(user=agent).spent_this_period == Decimal("40.00")
