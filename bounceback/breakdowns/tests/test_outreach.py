"""The set-based outreach path: rows exactly as the case services write them, chunks, delivery.

Run on SQLite and PostgreSQL (the fast path has a statement shape per backend).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import F
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.background.deliveries import lane_run_due
from bounceback.breakdowns.models import AffectedCustomer
from bounceback.breakdowns.selectors import breakdown_progress
from bounceback.breakdowns.services import (
    breakdown_confirm_outreach,
    breakdown_outreach_run,
)
from bounceback.cases.models import Case
from bounceback.cases.services import case_log_customer_message, case_send_update
from bounceback.interactions.models import Interaction
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import OUTBOX_LANE
from bounceback.testing.breakdowns_factories import make_breakdown
from bounceback.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead():  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.LEAD)


def test_outreach_cases_carry_the_same_fields_as_an_opened_and_apologised_case(lead):
    breakdown = make_breakdown(actor=lead, customers=1)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)

    case = Case.objects.get(breakdown=breakdown)
    assert case.created_by == lead
    assert case.description == ""
    assert case.what_went_wrong == "" and case.fix_summary == ""
    assert case.breach_count == 0
    assert case.assignee is None and case.team is None
    assert case.apology_score is not None  # the playbook's coach-checked apology
    events = list(case.events.order_by("id"))
    assert [(e.actor, e.actor_label) for e in events] == [(lead, str(lead))] * 2
    interaction = Interaction.objects.get(case=case)
    assert interaction.author == lead
    assert interaction.author_name == str(lead)
    assert interaction.thread_ref == case.reference
    assert interaction.source == "bounceback"
    assert interaction.occurred_at == case.apologised_at


def test_an_outreach_case_goes_on_like_any_other_case(lead):
    breakdown = make_breakdown(actor=lead, customers=1)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    case = Case.objects.get(breakdown=breakdown)

    case_log_customer_message(case=case, actor=None, body="Can I get a refund?")
    case = case_send_update(case=case, actor=lead, body="Yes, the refund is on its way.")

    assert case.status == Case.Status.FIXING
    assert [e.kind for e in case.events.order_by("id")][-2:] == ["customer_message", "update_sent"]


def test_the_lanes_deliver_outreach_messages_as_they_fall_due(lead, settings):
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 60}
    breakdown = make_breakdown(actor=lead, customers=3)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    # Spaced a second apart at the channel's rate; move the clock 1.5 s past the first.
    first = OutboundMessage.objects.order_by("next_attempt_at").first()
    OutboundMessage.objects.update(
        next_attempt_at=F("next_attempt_at")
        - (first.next_attempt_at - timezone.now() + timedelta(seconds=1, milliseconds=500))
    )
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 60_000}

    sent_now = lane_run_due(OUTBOX_LANE)

    assert sent_now == 2
    assert len(mail.outbox) == 2
    sent = mail.outbox[0]
    case = Case.objects.get(reference=sent.extra_headers["X-Bounceback-Case"])
    assert sent.subject.startswith(f"[{case.reference}] ")
    progress = breakdown_progress(breakdown=breakdown)
    assert (progress.sent, progress.pending, progress.percent_reached) == (2, 1, 66)
    assert not progress.done


def test_progress_reaches_100_percent_when_every_message_is_sent(lead):
    breakdown = make_breakdown(actor=lead, customers=2)
    assert breakdown_progress(breakdown=breakdown).done is False
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    assert breakdown_progress(breakdown=breakdown).pending == 2  # not processed yet
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    OutboundMessage.objects.update(state=OutboundMessage.State.SENT, sent_at=timezone.now())
    breakdown.refresh_from_db()

    progress = breakdown_progress(breakdown=breakdown)

    assert (progress.percent_reached, progress.done) == (100, True)


def test_a_crash_between_chunks_resumes_where_it_stopped(lead):
    breakdown = make_breakdown(actor=lead, customers=5)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    from bounceback.breakdowns import outreach

    # One chunk committed, then the worker died.
    assert outreach.run_chunk(breakdown_id=breakdown.pk, size=2) == 2
    assert breakdown.affected.filter(state=AffectedCustomer.State.PENDING).count() == 3

    assert breakdown_outreach_run(breakdown_id=breakdown.pk, chunk=2) == 3

    references = list(Case.objects.filter(breakdown=breakdown).values_list("reference", "pk"))
    assert len(references) == 5
    assert all(ref == f"BB-{pk:05d}" for ref, pk in references)
    assert OutboundMessage.objects.values("customer").distinct().count() == 5


def test_outreach_ids_follow_on_from_cases_opened_one_at_a_time(lead):
    from bounceback.cases.services import case_open
    from bounceback.testing.factories import CustomerFactory

    before = case_open(customer=CustomerFactory(), summary="Earlier", actor=lead)
    breakdown = make_breakdown(actor=lead, customers=2)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    after = case_open(customer=CustomerFactory(), summary="Later", actor=lead)

    ids = sorted(Case.objects.values_list("pk", flat=True))
    assert ids[0] == before.pk and ids[-1] == after.pk
    assert len(set(ids)) == 4


def test_waves_go_to_linked_customers_on_their_preferred_deliverable_channel(lead):
    from bounceback.breakdowns.services import breakdown_post_update
    from bounceback.cases.services import case_open
    from bounceback.testing.breakdowns_factories import make_booked_customers
    from bounceback.testing.factories import SiteFactory

    site = SiteFactory()
    complainer = make_booked_customers(1, site=site)[0]
    case_open(customer=complainer, summary="Lights out", actor=lead, site=site)
    breakdown = make_breakdown(actor=lead, site=site)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)

    message = breakdown_post_update(breakdown=breakdown, actor=lead, body="Power is back soon.")

    update = OutboundMessage.objects.get(batch=message.batch)
    assert (update.customer_id, update.channel, update.to_address) == (
        complainer.pk,
        "email",
        complainer.primary_email,
    )
    assert update.lease_owner == "" and update.state == OutboundMessage.State.QUEUED
