from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.cases.services import (
    case_apologise,
    case_close,
    case_document,
    case_follow_up,
    case_mark_fixed,
    case_record_follow_up,
    case_reopen,
    case_resume,
    case_review,
    case_send_update,
    case_wait_on_customer,
)
from bounceback.errors import Conflict, ValidationFailed
from bounceback.outbox.models import OutboundMessage
from bounceback.timers.models import Timer

from .conftest import SINCERE

pytestmark = pytest.mark.django_db


def _timers(case: Case) -> dict[str, str]:
    return {t.kind: t.state for t in Timer.objects.for_subject("case", case.pk).order_by("id")}


def test_the_whole_recovery_sequence(open_case, agent, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    case = open_case
    assert case.reference.startswith("BB-")
    assert _timers(case) == {"apologise": "running"}

    case = case_apologise(case=case, actor=agent, body=SINCERE)
    assert case.status == Case.Status.APOLOGISED
    assert _timers(case) == {"apologise": "met", "fix": "running"}

    case = case_review(
        case=case,
        actor=agent,
        what_went_wrong="Car not touched, no call",
        impact="Took a day off work for nothing",
        proposed_fix="Finish it tomorrow and lend me a car",
        proposal_accepted=True,
    )
    assert case.status == Case.Status.FIXING

    case = case_send_update(case=case, actor=agent, body="Your car is on the lift now.")
    assert _timers(case)["update"] == "running"

    case = case_mark_fixed(case=case, actor=agent, fix_summary="Car repaired, courtesy car lent")
    assert case.status == Case.Status.FIXED
    timers = _timers(case)
    assert (timers["fix"], timers["update"]) == ("met", "met")
    assert (timers["follow_up"], timers["document"]) == ("running", "running")

    with pytest.raises(Conflict) as too_soon:
        case_follow_up(case=case, actor=agent, body="How did we do?")
    assert "cool-off" in too_soon.value.message

    Case.objects.filter(pk=case.pk).update(fixed_at=timezone.now() - timedelta(hours=25))
    case.refresh_from_db()
    case = case_follow_up(case=case, actor=agent, body="Chad, is the car running well?")
    case = case_record_follow_up(case=case, actor=agent, satisfied=True, will_return=True)

    with pytest.raises(Conflict) as undocumented:
        case_close(case=case, actor=agent)
    assert "document" in undocumented.value.message

    case = case_document(
        case=case,
        actor=agent,
        root_cause="No cover when a technician is off sick",
        what_was_done="Repaired next day, courtesy car",
        prevention_idea="On-call technician rota and a rule to phone delayed customers",
    )
    case = case_close(case=case, actor=agent)

    assert case.status == Case.Status.CLOSED
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == [
        "opened",
        "apologised",
        "reviewed",
        "update_sent",
        "fixed",
        "follow_up_sent",
        "follow_up_recorded",
        "documented",
        "closed",
    ]
    assert OutboundMessage.objects.filter(customer=case.customer).count() == 3
    assert all(f"[{case.reference}]" in m.subject for m in OutboundMessage.objects.all())
    assert not Timer.objects.for_subject("case", case.pk).active().exists()
    assert mail.outbox == []  # nothing leaves until a worker delivers the outbox


def test_no_step_before_the_apology(open_case, agent) -> None:
    for attempt in (
        lambda: case_send_update(case=open_case, actor=agent, body="update"),
        lambda: case_mark_fixed(case=open_case, actor=agent, fix_summary="done"),
        lambda: case_review(case=open_case, actor=agent, what_went_wrong="x"),
    ):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "invalid_transition"
        assert "apologise" in refused.value.message


def test_a_cliche_needs_an_override_which_is_recorded(open_case, agent) -> None:
    with pytest.raises(ValidationFailed) as refused:
        case_apologise(case=open_case, actor=agent, body="We apologise for any inconvenience.")
    assert refused.value.code == "apology_below_threshold"
    assert open_case.events.filter(kind="apologised").count() == 0

    case = case_apologise(
        case=open_case,
        actor=agent,
        body="We apologise for any inconvenience.",
        override_reason="Customer asked for a one-line reply",
    )

    event = case.events.get(kind="apologised")
    assert event.data["override_reason"] == "Customer asked for a one-line reply"
    assert event.data["score"] < event.data["threshold"]


def test_the_first_apology_cannot_be_sent_twice(open_case, agent) -> None:
    case_apologise(case=open_case, actor=agent, body=SINCERE)

    with pytest.raises(Conflict):
        case_apologise(case=open_case, actor=agent, body=SINCERE)


def test_waiting_on_the_customer_pauses_the_clock(open_case, agent) -> None:
    case = case_apologise(case=open_case, actor=agent, body=SINCERE)
    fix = Timer.objects.get(subject_type="case", subject_id=case.pk, kind="fix")
    due_before = fix.due_at

    case = case_wait_on_customer(case=case, actor=agent, reason="Asked for photos")
    fix.refresh_from_db()
    assert case.status == Case.Status.WAITING and fix.state == Timer.State.PAUSED
    with pytest.raises(Conflict):
        case_mark_fixed(case=case, actor=agent, fix_summary="x")

    case = case_resume(case=case, actor=agent)
    fix.refresh_from_db()
    assert case.status == Case.Status.APOLOGISED
    assert fix.state == Timer.State.RUNNING
    assert fix.due_at >= due_before


def test_an_unhappy_follow_up_reopens_the_recovery(open_case, agent) -> None:
    case = case_apologise(case=open_case, actor=agent, body=SINCERE)
    case = case_mark_fixed(case=case, actor=agent, fix_summary="Repaired")
    case = case_follow_up(case=case, actor=agent, body="All good?", early_reason="Customer rang")

    case = case_record_follow_up(
        case=case, actor=agent, satisfied=False, will_return=False, comment="Still rattles"
    )

    assert case.status == Case.Status.FIXING
    assert case.fixed_at is None
    assert agent.notifications.filter(kind="recovery_reopened").exists()
    assert Timer.objects.for_subject("case", case.pk).filter(kind="fix", state="running").exists()


def test_an_unhappy_answer_on_a_case_nobody_took_tells_the_leads(open_case, agent) -> None:  # type: ignore[no-untyped-def]
    from bounceback.accounts.roles import Role
    from bounceback.testing.factories import UserFactory

    lead = UserFactory(role=Role.LEAD)
    case = case_apologise(case=open_case, actor=agent, body=SINCERE)
    case = case_mark_fixed(case=case, actor=agent, fix_summary="Repaired")
    case = case_follow_up(case=case, actor=agent, body="All good?", early_reason="Rang")
    Case.objects.filter(pk=case.pk).update(assignee=None, team=None)
    case.refresh_from_db()

    case_record_follow_up(case=case, actor=None, satisfied=False, will_return=False)

    assert lead.notifications.filter(kind="recovery_reopened").exists()


def test_a_closed_case_can_be_reopened_with_a_reason(open_case, agent) -> None:
    case = case_apologise(case=open_case, actor=agent, body=SINCERE)
    case = case_mark_fixed(case=case, actor=agent, fix_summary="Repaired")
    case = case_follow_up(case=case, actor=agent, body="Happy?", early_reason="Asked to")
    case = case_document(
        case=case, actor=agent, root_cause="a", what_was_done="b", prevention_idea="c"
    )
    case = case_close(case=case, actor=agent)

    with pytest.raises(ValidationFailed):
        case_reopen(case=case, actor=agent, reason=" ")
    case = case_reopen(case=case, actor=agent, reason="Problem came back")

    assert case.status == Case.Status.FIXING
    assert case.events.filter(kind="reopened").get().data == {"reason": "Problem came back"}


def test_messages_need_an_address_on_a_channel_we_deliver(agent) -> None:
    from bounceback.cases.services import case_open
    from bounceback.testing.factories import CustomerFactory

    customer = CustomerFactory(email=False)
    case = case_open(customer=customer, summary="Lost parcel", actor=agent)

    with pytest.raises(ValidationFailed) as no_email:
        case_apologise(case=case, actor=agent, body=SINCERE)
    case = case_apologise(case=case, actor=agent, body=SINCERE, channel="phone")

    assert no_email.value.field == "channel"
    assert case.interactions.get().channel == "phone"
    assert not OutboundMessage.objects.exists()


def test_policy_changes_apply_to_new_timers_and_are_audited(agent, customer) -> None:
    from bounceback.audit.models import AuditEvent
    from bounceback.cases.services import case_open, policy_update

    policy_update(severity="normal", actor=agent, apologise_minutes=5)
    case = case_open(customer=customer, summary="Late", actor=agent)

    timer = Timer.objects.get(subject_type="case", subject_id=case.pk)
    assert timer.due_at - timer.started_at == timedelta(minutes=5)
    assert AuditEvent.objects.filter(action="policy_changed").get().data == {
        "apologise_minutes": [60, 5]
    }
    with pytest.raises(ValidationFailed) as refused:
        policy_update(severity="normal", actor=agent, warn_percent=150)
    assert refused.value.field == "warn_percent"


def test_a_customer_reply_is_on_the_case_and_resumes_a_waiting_case(open_case, agent) -> None:
    from bounceback.cases.services import case_log_customer_message

    case = case_wait_on_customer(case=open_case, actor=agent, reason="Asked for the booking ref")

    case = case_log_customer_message(case=case, actor=agent, body="It's BK-1042", channel="phone")

    assert case.status == Case.Status.NEW
    assert Timer.objects.for_subject("case", case.pk).get().state == Timer.State.RUNNING
    reply = case.events.get(kind="customer_message")
    assert reply.interaction.direction == "inbound"
    assert reply.interaction.body == "It's BK-1042"


def test_a_breached_timer_stops_escalating_while_waiting_on_the_customer(open_case, agent) -> None:
    from bounceback.timers.services import timers_fire_due

    opened = open_case.created_at
    timers_fire_due(now=opened + timedelta(minutes=61))  # the apology is overdue
    case = case_wait_on_customer(case=open_case, actor=agent, reason="Asked for photos")

    timers_fire_due(now=opened + timedelta(hours=5))
    assert not case.events.filter(kind="escalated").exists()

    Timer.objects.filter(subject_id=case.pk).update(paused_at=opened + timedelta(minutes=65))
    case_resume(case=case, actor=agent)
    timer = Timer.objects.get(subject_type="case", subject_id=case.pk)
    # Escalation resumes with the time it had left before the wait.
    assert timer.escalate_at > timezone.now()
    assert timer.breached_at is not None and timer.met_at is None


def test_a_second_fix_does_not_start_a_second_documentation_clock(open_case, agent) -> None:
    case = case_apologise(case=open_case, actor=agent, body=SINCERE)
    case = case_mark_fixed(case=case, actor=agent, fix_summary="Repaired")
    case = case_follow_up(case=case, actor=agent, body="Happy?", early_reason="Rang us")
    case = case_record_follow_up(case=case, actor=agent, satisfied=False, will_return=None)

    case = case_mark_fixed(case=case, actor=agent, fix_summary="Repaired properly")

    assert Timer.objects.for_subject("case", case.pk).filter(kind="document").count() == 1


def test_an_unhappy_answer_is_kept_in_the_history_not_shown_as_current(open_case, agent) -> None:
    case = case_apologise(case=open_case, actor=agent, body=SINCERE)
    case = case_mark_fixed(case=case, actor=agent, fix_summary="Repaired")
    case = case_follow_up(case=case, actor=agent, body="Happy?", early_reason="Rang us")

    case = case_record_follow_up(
        case=case, actor=agent, satisfied=False, will_return=False, comment="Still rattles"
    )

    assert (case.satisfied, case.will_return, case.follow_up_recorded_at) == (None, None, None)
    event = case.events.get(kind="follow_up_recorded")
    assert event.data == {"satisfied": False, "will_return": False, "comment": "Still rattles"}


def test_staff_can_end_a_recovery_the_customer_stays_unhappy_with(open_case, agent) -> None:
    case = case_apologise(case=open_case, actor=agent, body=SINCERE)
    case = case_mark_fixed(case=case, actor=agent, fix_summary="Repaired twice")
    case = case_follow_up(case=case, actor=agent, body="Happy?", early_reason="Rang us")

    case = case_record_follow_up(
        case=case, actor=agent, satisfied=False, will_return=False, reopen_recovery=False
    )
    case = case_document(
        case=case, actor=agent, root_cause="a", what_was_done="b", prevention_idea="c"
    )
    case = case_close(case=case, actor=agent)

    assert case.status == Case.Status.CLOSED
    assert case.satisfied is False
