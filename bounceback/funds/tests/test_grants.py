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


def test_given_grants_on_one_case_when_their_sum_passes_the_limit_then_the_last_waits() -> None:
    agent = staff(Role.AGENT)
    case = open_case()
    _grant(case, agent, value="100.00")

    second = _grant(case, agent, value="60.00")

    assert second.state == Grant.State.PENDING
    assert "with 100.00 USD already granted on this case" in second.approval.why


def test_given_a_nearly_spent_budget_when_granting_more_than_is_left_then_it_waits() -> None:
    set_policy(Role.AGENT, per_case="150", budget="200")
    agent = staff(Role.AGENT)
    _grant(open_case(), agent, value="150.00")

    grant = _grant(open_case(), agent, value="60.00")

    assert grant.state == Grant.State.PENDING
    assert "more than the 50.00 USD left in your monthly budget" in grant.approval.why
    allowance = allowance_for(user=agent)
    assert (allowance.spent_this_period, allowance.remaining) == (
        Decimal("150.00"),
        Decimal("50.00"),
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value": "0"}, "value"),
        ({"value": "-5"}, "value"),
        ({"value": "abc"}, "value"),
        ({"currency": "EUR"}, "currency"),
        ({"reason": "  "}, "reason"),
        ({"kind": "cash"}, "kind"),
        ({"exception_to_policy": True}, "policy_bent"),
        ({"voucher_days": 30}, "voucher_days"),
    ],
)
def test_given_bad_input_when_granting_then_the_field_is_named_and_nothing_is_written(
    changes, field
) -> None:
    case = open_case()

    with pytest.raises(ValidationFailed) as caught:
        _grant(case, staff(Role.AGENT), **changes)

    assert caught.value.field == field
    assert not Grant.objects.exists() and not LedgerEntry.objects.exists()


def test_given_an_unreachable_customer_when_granting_with_a_message_then_nothing_is_written() -> (
    None
):
    from bounceback.testing.factories import CustomerFactory

    case = open_case(customer=CustomerFactory(email=False))

    with pytest.raises(ValidationFailed):
        _grant(case, staff(Role.AGENT), message="Refunded.")

    assert not Grant.objects.exists() and not LedgerEntry.objects.exists()


def test_given_a_case_closed_long_ago_when_granting_then_it_is_refused() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from bounceback.cases.models import Case

    case = open_case()
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.CLOSED, closed_at=timezone.now() - timedelta(days=40)
    )
    case.refresh_from_db()

    with pytest.raises(Conflict):
        _grant(case, staff(Role.AGENT))


def test_given_a_non_monetary_gesture_when_granted_then_its_estimate_counts() -> None:
    agent = staff(Role.AGENT)

    grant = _grant(open_case(), agent, kind="upgrade", value="80", estimated=True)

    assert grant.estimated and grant.state == Grant.State.GRANTED
    assert allowance_for(user=agent).spent_this_period == Decimal("80.00")


def test_given_an_exception_to_policy_when_granted_then_only_senior_management_sees_it() -> None:
    agent = staff(Role.AGENT)
    grant = _grant(
        open_case(),
        agent,
        exception_to_policy=True,
        policy_bent="No refunds after 30 days",
        customer_proposed=True,
    )

    assert list(exceptions_to_policy(user=staff(Role.EXECUTIVE))) == [grant]
    for role in (Role.AGENT, Role.LEAD, Role.MANAGER):
        with pytest.raises(Forbidden):
            exceptions_to_policy(user=staff(role))


def test_given_a_voucher_grant_when_the_message_has_no_placeholder_then_the_code_is_appended() -> (
    None
):
    case = open_case()

    grant = _grant(case, staff(Role.AGENT), kind="voucher", message="Please accept this voucher.")

    body = OutboundMessage.objects.get().body_text
    assert grant.voucher.code in body and "valid until" in body


def test_given_a_grant_above_the_allowance_when_approved_then_notifications_reach_leads_only() -> (
    None
):
    lead = staff(Role.LEAD)
    manager = staff(Role.MANAGER)

    _grant(open_case(), staff(Role.AGENT), value="200")

    assert Notification.objects.filter(recipient=lead).count() == 1
    assert not Notification.objects.filter(recipient=manager).exists()
    assert Timer.objects.filter(subject_type="approval").count() == 1


def test_given_a_playbook_pre_approving_a_voucher_when_granted_then_it_skips_the_limits() -> None:
    from bounceback.testing.failuremodes_factories import FailureModeFactory
    from bounceback.testing.playbooks_factories import make_playbook

    failure_mode = FailureModeFactory()
    make_playbook(failure_mode=failure_mode)  # pre-approves a 20.00 voucher for "all"
    set_policy(Role.AGENT, per_case="10", budget="10")
    agent = staff(Role.AGENT)
    case = open_case(failure_mode=failure_mode)

    pre = _grant(case, agent, kind="voucher", value="20")
    again = _grant(case, agent, kind="voucher", value="20")

    assert (pre.state, pre.pre_approved) == (Grant.State.GRANTED, True)
    assert LedgerEntry.objects.get(grant=pre).pre_approved
    assert "Pre-approved" in CaseEvent.objects.get(kind="compensation_granted").summary
    # The playbook's 20 is used up on this case: the next one counts as usual.
    assert (again.state, again.pre_approved) == (Grant.State.PENDING, False)
    assert allowance_for(user=agent).spent_this_period == Decimal("0.00")


def test_given_a_customer_in_a_segment_with_a_tier_when_granting_then_the_limit_is_lifted() -> None:
    from django.utils import timezone

    from bounceback.segments.models import SegmentMembership
    from bounceback.testing.factories import CustomerFactory
    from bounceback.testing.segments_factories import SegmentFactory

    segment = SegmentFactory(name="High value", slug="high-value", compensation_tier=Decimal("400"))
    customer = CustomerFactory()
    SegmentMembership.objects.create(segment=segment, customer=customer, since=timezone.now())
    agent = staff(Role.AGENT)

    lifted = _grant(open_case(customer=customer), agent, value="300")
    plain = _grant(open_case(), agent, value="300")

    assert lifted.state == Grant.State.GRANTED
    assert plain.state == Grant.State.PENDING
    allowance = allowance_for(user=agent, customer=customer)
    assert (allowance.per_case_limit, allowance.base_per_case_limit, allowance.lifted_by) == (
        Decimal("400.00"),
        Decimal("150.00"),
        "High value",
    )
