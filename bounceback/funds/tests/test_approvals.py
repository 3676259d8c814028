"""Grants above an allowance: approval requests, their timers, escalation and decisions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bounceback.accounts.roles import Role
from bounceback.cases.models import CaseEvent
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.funds.models import ApprovalRequest, Grant, LedgerEntry, Voucher
from bounceback.funds.selectors import allowance_for, approval_queue
from bounceback.funds.services import approval_decide, approval_escalate, grant_create
from bounceback.notifications.models import Notification
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.funds_factories import open_case, staff
from bounceback.timers.models import Timer
from bounceback.timers.services import timers_fire_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():  # type: ignore[no-untyped-def]
    return {
        "agent": staff(Role.AGENT),
        "lead": staff(Role.LEAD),
        "manager": staff(Role.MANAGER),
        "executive": staff(Role.EXECUTIVE),
    }


def _ask(agent, value="300.00", **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("kind", "refund")
    kwargs.setdefault("reason", "Wedding cake never arrived")
    kwargs.setdefault("message", "We are refunding {{ value }}.")
    return grant_create(case=open_case(), actor=agent, value=value, **kwargs)


def test_given_a_grant_above_the_per_case_limit_when_granted_then_it_waits_on_a_lead_with_a_timer(
    people,
) -> None:
    grant = _ask(people["agent"])

    assert grant.state == Grant.State.PENDING
    request = grant.approval
    assert request.level == Role.LEAD
    assert "above your per-case limit of 150.00" in request.why
    timer = Timer.objects.get(subject_type="approval", subject_id=request.pk)
    assert timer.due_at == request.due_at
    assert Notification.objects.filter(recipient=people["lead"], kind="approval_requested").exists()
    assert CaseEvent.objects.filter(case=grant.case, kind="compensation_requested").exists()
    # Nothing spent, nothing told to the customer yet.
    assert not LedgerEntry.objects.exists()
    assert not OutboundMessage.objects.exists()
    assert list(approval_queue(user=people["lead"])) == [request]
    assert list(approval_queue(user=people["agent"])) == []


def test_given_a_grant_above_the_leads_own_limit_when_granted_then_it_starts_at_manager(
    people,
) -> None:
    grant = _ask(people["agent"], value="800.00")

    assert grant.approval.level == Role.MANAGER
    assert list(approval_queue(user=people["lead"])) == []


def test_given_an_unanswered_request_when_its_timer_runs_out_then_it_climbs_a_level_each_time(
    people,
) -> None:
    grant = _ask(people["agent"])
    request = grant.approval
    start = request.due_at

    timers_fire_due(now=start + timedelta(seconds=1))
    request.refresh_from_db()
    assert request.level == Role.MANAGER
    assert Notification.objects.filter(
        recipient=people["manager"], kind="approval_escalated"
    ).exists()

    timers_fire_due(now=start + timedelta(minutes=60, seconds=2))
    request.refresh_from_db()
    assert request.level == Role.EXECUTIVE

    timers_fire_due(now=start + timedelta(minutes=120, seconds=3))
    request.refresh_from_db()
    # Above executive it stays there and tells them again.
    assert request.level == Role.EXECUTIVE
    assert request.escalations == 3
    assert (
        Notification.objects.filter(
            recipient=people["executive"], kind="approval_escalated"
        ).count()
        == 2
    )
    assert CaseEvent.objects.filter(case=grant.case, kind="compensation_escalated").count() == 2


def test_given_a_pending_request_when_the_lead_approves_then_it_takes_effect_against_the_requester(
    people,
) -> None:
    grant = _ask(people["agent"])

    request = approval_decide(request=grant.approval, actor=people["lead"], decision="approve")

    grant.refresh_from_db()
    assert (request.state, grant.state) == ("approved", "granted")
    entry = LedgerEntry.objects.get(grant=grant)
    assert (entry.kind, entry.amount) == ("approval", Decimal("300.00"))
    assert (entry.person_id, entry.actor_id) == (people["agent"].pk, people["lead"].pk)
    assert allowance_for(user=people["agent"]).spent_this_period == Decimal("300.00")
    assert "refunding 300.00 USD" in OutboundMessage.objects.get().body_text
    assert Notification.objects.filter(recipient=people["agent"], kind="approval_decided").exists()
    timer = Timer.objects.get(subject_type="approval", subject_id=request.pk)
    assert timer.met_at is not None and timer.next_fire_at is None


def test_given_a_voucher_request_when_reduced_then_the_customer_gets_the_lower_value_and_a_code(
    people,
) -> None:
    grant = _ask(people["agent"], kind="voucher", message="Here is {{ value }}: {{ voucher }}")

    request = approval_decide(
        request=grant.approval,
        actor=people["lead"],
        decision="reduce",
        value="200",
        reason="A voucher of 200 matches what we usually give",
    )

    grant.refresh_from_db()
    assert (request.state, request.decided_value, grant.value) == (
        "reduced",
        Decimal("200.00"),
        Decimal("200.00"),
    )
    assert request.asked_value == Decimal("300.00")
    voucher = Voucher.objects.get(grant=grant)
    assert voucher.value == Decimal("200.00")
    body = OutboundMessage.objects.get().body_text
    assert "200.00 USD" in body and voucher.code in body
    assert LedgerEntry.objects.get(grant=grant).kind == "reduction"


def test_given_a_pending_request_when_refused_then_nothing_is_spent_and_the_customer_is_not_told(
    people,
) -> None:
    grant = _ask(people["agent"])

    approval_decide(
        request=grant.approval, actor=people["lead"], decision="refuse", reason="Already refunded"
    )

    grant.refresh_from_db()
    assert grant.state == Grant.State.REFUSED
    entry = LedgerEntry.objects.get(grant=grant)
    assert (entry.kind, entry.amount) == ("refusal", Decimal("0.00"))
    assert not OutboundMessage.objects.exists()
    assert CaseEvent.objects.filter(case=grant.case, kind="compensation_refused").exists()


@pytest.mark.parametrize(
    ("who", "decision", "value", "reason", "error"),
    [
        ("agent", "approve", None, "", Forbidden),  # no approval permission
        ("lead", "refuse", None, "", ValidationFailed),  # a refusal needs a reason
        ("lead", "reduce", "300", "too much", ValidationFailed),  # not lower than asked
        ("lead", "reduce", None, "too much", ValidationFailed),  # no value
        ("lead", "maybe", None, "", ValidationFailed),
    ],
)
def test_given_a_bad_decision_when_made_then_it_is_refused_and_nothing_changes(
    people, who, decision, value, reason, error
) -> None:
    grant = _ask(people["agent"])

    with pytest.raises(error):
        approval_decide(
            request=grant.approval,
            actor=people[who],
            decision=decision,
            value=value,
            reason=reason,
        )

    grant.refresh_from_db()
    assert grant.state == Grant.State.PENDING
    assert not LedgerEntry.objects.exists()


def test_given_a_request_above_the_approvers_limit_when_approved_then_they_must_escalate(
    people,
) -> None:
    # A lead's request for 1,000 starts at manager; another lead cannot decide it.
    lead_grant = _ask(people["lead"], value="1000.00")
    assert lead_grant.approval.level == Role.MANAGER
    with pytest.raises(Forbidden):
        approval_decide(request=lead_grant.approval, actor=staff(Role.LEAD), decision="approve")

    # An agent's 400 sits with leads; a lead whose own limit is lowered cannot approve it.
    from bounceback.funds.models import AllowanceOverride

    grant = _ask(people["agent"], value="400.00")
    AllowanceOverride.objects.create(user=people["lead"], per_case_limit=Decimal("300"))
    with pytest.raises(Forbidden, match="escalate"):
        approval_decide(request=grant.approval, actor=people["lead"], decision="approve")

    approval_escalate(request=grant.approval, actor=people["lead"], reason="Above my limit")
    grant.approval.refresh_from_db()
    assert grant.approval.level == Role.MANAGER
    approval_decide(request=grant.approval, actor=people["manager"], decision="approve")


def test_given_a_requester_when_they_decide_their_own_request_then_it_is_refused(people) -> None:
    grant = _ask(people["manager"], value="5000.00")

    with pytest.raises(Forbidden, match="own"):
        approval_decide(request=grant.approval, actor=people["manager"], decision="approve")


def test_given_a_decided_request_when_decided_again_then_it_is_a_conflict(people) -> None:
    grant = _ask(people["agent"])
    approval_decide(request=grant.approval, actor=people["lead"], decision="approve")

    with pytest.raises(Conflict):
        approval_decide(
            request=grant.approval, actor=people["manager"], decision="refuse", reason="no"
        )
    assert LedgerEntry.objects.filter(grant=grant).count() == 1


def test_given_a_request_at_executive_level_when_escalated_then_it_is_a_conflict(people) -> None:
    grant = _ask(people["agent"], value="1500.00")
    approval_escalate(request=grant.approval, actor=people["manager"], reason="Too big for me")

    with pytest.raises(Conflict):
        approval_escalate(request=grant.approval, actor=people["executive"], reason="Up again")


def test_given_a_decided_request_when_its_old_timer_would_have_fired_then_nothing_moves(
    people,
) -> None:
    grant = _ask(people["agent"])
    approval_decide(request=grant.approval, actor=people["lead"], decision="approve")

    timers_fire_due(now=grant.approval.due_at + timedelta(hours=5))

    request = ApprovalRequest.objects.get(pk=grant.approval.pk)
    assert (request.level, request.escalations) == (Role.LEAD, 0)


def test_asking_in_pieces_goes_to_the_level_the_whole_needs(people) -> None:  # type: ignore[no-untyped-def]
    # Given a lead's own limit of 500 a case, and 450 already waiting on one case
    case = open_case()
    first = grant_create(
        case=case, actor=people["agent"], kind="refund", value="450.00", reason="r"
    )
    assert first.approval.level == Role.LEAD

    # When the agent asks for another 450 on the same case
    second = grant_create(
        case=case, actor=people["agent"], kind="credit", value="450.00", reason="r"
    )

    # Then the second waits on a manager, and the lead may not approve the first past 500
    assert second.approval.level == Role.MANAGER
    approval_decide(request=first.approval, actor=people["lead"], decision="approve", reason="ok")
    with pytest.raises(Forbidden):
        approval_decide(
            request=second.approval, actor=people["lead"], decision="approve", reason="ok"
        )
