"""Linking a complaint that came in on its own to a breakdown: the service and the case page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from bounceback.accounts.roles import Role
from bounceback.breakdowns.models import AffectedCustomer, Breakdown, BreakdownEvent
from bounceback.breakdowns.selectors import breakdown_review_figures, breakdowns_for_case
from bounceback.breakdowns.services import (
    breakdown_all_clear,
    breakdown_cancel,
    breakdown_confirm_outreach,
    breakdown_link_case,
    breakdown_outreach_run,
    breakdown_unlink_case,
)
from bounceback.cases.models import Case, CaseEvent
from bounceback.cases.services import case_open
from bounceback.errors import Conflict
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.breakdowns_factories import make_booked_customers, make_breakdown
from bounceback.testing.factories import CustomerFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead() -> Any:
    return UserFactory(role=Role.LEAD)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _hit(lead: Any, count: int = 2) -> tuple[Breakdown, list[Any]]:
    """A declared breakdown at a site hitting `count` booked customers."""
    site = SiteFactory()
    people = make_booked_customers(count, site=site)
    return make_breakdown(actor=lead, site=site), people


def _complaint(customer: Any, lead: Any) -> Case:
    # No site and no failure mode: nothing ties it to the breakdown but a person.
    return case_open(customer=customer, summary="Why did the lights go out?", actor=lead)


def _recovering(breakdown: Breakdown, lead: Any) -> Breakdown:
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    return Breakdown.objects.get(pk=breakdown.pk)


# --- The service ---------------------------------------------------------------------------------


def test_given_a_complaint_during_recovery_when_linked_then_it_counts_as_came_in_anyway(lead):
    breakdown, (first, _second) = _hit(lead)
    breakdown = _recovering(breakdown, lead)
    complaint = _complaint(first, lead)

    linked = breakdown_link_case(breakdown=breakdown, case=complaint, actor=lead)

    complaint.refresh_from_db()
    assert linked.breakdown_id == complaint.breakdown_id == breakdown.pk
    event = complaint.events.get(kind="linked_to_breakdown")
    assert breakdown.reference in event.summary and event.actor == lead
    assert breakdown.events.filter(kind="case_linked", data__case_id=complaint.pk).exists()
    assert breakdown_review_figures(breakdown=breakdown).complaints_anyway == 1
    # The customer was already contacted: their outreach row is left as it was
    row = breakdown.affected.get(customer=first)
    assert row.state == AffectedCustomer.State.QUEUED and row.case.proactive


def test_given_a_customer_not_yet_contacted_when_their_case_is_linked_then_not_contacted_twice(
    lead,
):
    breakdown, (first, second) = _hit(lead)
    complaint = _complaint(first, lead)
    assert breakdown.affected.get(customer=first).state == AffectedCustomer.State.PENDING

    breakdown_link_case(breakdown=breakdown, case=complaint, actor=lead)
    row = breakdown.affected.get(customer=first)
    assert row.state == AffectedCustomer.State.LINKED and row.case == complaint

    _recovering(breakdown, lead)
    assert not OutboundMessage.objects.filter(customer=first).exists()
    assert OutboundMessage.objects.filter(customer=second).count() == 1
    assert Case.objects.filter(customer=first).count() == 1


def test_linking_twice_to_the_same_breakdown_changes_nothing(lead):
    breakdown, (first, _second) = _hit(lead)
    complaint = _complaint(first, lead)

    breakdown_link_case(breakdown=breakdown, case=complaint, actor=lead)
    breakdown_link_case(breakdown=breakdown, case=complaint, actor=lead)

    assert complaint.events.filter(kind="linked_to_breakdown").count() == 1
    assert breakdown.events.filter(kind="case_linked").count() == 1


def test_a_case_of_another_breakdown_is_refused(lead):
    breakdown, (first, _second) = _hit(lead)
    other, _people = _hit(lead)
    complaint = _complaint(first, lead)
    breakdown_link_case(breakdown=breakdown, case=complaint, actor=lead)

    with pytest.raises(Conflict, match=f"already belongs to breakdown {breakdown.reference}"):
        breakdown_link_case(breakdown=other, case=complaint, actor=lead)

    complaint.refresh_from_db()
    assert complaint.breakdown_id == breakdown.pk
    assert not other.events.filter(kind="case_linked").exists()


def test_a_cancelled_breakdown_takes_no_cases(lead):
    breakdown, (first, _second) = _hit(lead)
    breakdown_cancel(breakdown=breakdown, actor=lead, reason="False alarm")
    complaint = _complaint(first, lead)

    with pytest.raises(Conflict, match="cancelled"):
        breakdown_link_case(breakdown=breakdown, case=complaint, actor=lead)

    complaint.refresh_from_db()
    assert complaint.breakdown_id is None
    assert not CaseEvent.objects.filter(case=complaint, kind="linked_to_breakdown").exists()


def test_after_the_all_clear_a_closed_complaint_can_still_be_linked_for_the_review(lead):
    breakdown, (first, _second) = _hit(lead)
    breakdown = _recovering(breakdown, lead)
    breakdown_all_clear(breakdown=breakdown, actor=lead, body="Power is back.")
    complaint = _complaint(first, lead)
    Case.objects.filter(pk=complaint.pk).update(status=Case.Status.CLOSED)

    breakdown_link_case(breakdown=breakdown, case=complaint, actor=lead)

    complaint.refresh_from_db()
    assert complaint.status == Case.Status.CLOSED
    assert complaint.breakdown_id == breakdown.pk
    assert breakdown_review_figures(breakdown=breakdown).complaints_anyway == 1


def test_unlinking_a_mistake_puts_the_customer_back_in_the_outreach(lead):
    breakdown, (first, _second) = _hit(lead)
    complaint = _complaint(first, lead)
    breakdown_link_case(breakdown=breakdown, case=complaint, actor=lead)

    breakdown_unlink_case(breakdown=breakdown, case=complaint, actor=lead)

    complaint.refresh_from_db()
    assert complaint.breakdown_id is None
    assert complaint.events.filter(kind="unlinked_from_breakdown").exists()
    row = breakdown.affected.get(customer=first)
    assert row.state == AffectedCustomer.State.PENDING and row.case is None
    _recovering(breakdown, lead)
    assert OutboundMessage.objects.filter(customer=first).count() == 1


def test_a_case_the_outreach_opened_cannot_be_unlinked(lead):
    breakdown, (first, _second) = _hit(lead)
    breakdown = _recovering(breakdown, lead)
    proactive = Case.objects.get(customer=first, proactive=True)

    with pytest.raises(Conflict, match="opened by the breakdown's outreach"):
        breakdown_unlink_case(breakdown=breakdown, case=proactive, actor=lead)

    proactive.refresh_from_db()
    assert proactive.breakdown_id == breakdown.pk


def test_breakdowns_that_hit_the_customer_are_offered_first(lead):
    hit, (first, _second) = _hit(lead)
    later, _people = _hit(lead)  # declared after: it would come first by date
    finished, _ = _hit(lead)
    breakdown_cancel(breakdown=finished, actor=lead, reason="False alarm")
    complaint = _complaint(first, lead)

    options = breakdowns_for_case(case=complaint)

    assert [b.pk for b in options] == [hit.pk, later.pk]
    assert [b.suggested for b in options] == [True, False]  # type: ignore[attr-defined]


# --- The case page ------------------------------------------------------------------------------


def test_given_a_lead_when_linking_from_the_case_page_then_the_side_panel_shows_the_breakdown(
    lead,
):
    breakdown, (first, _second) = _hit(lead)
    complaint = _complaint(first, lead)
    client = _client(lead)
    url = reverse("cases:detail", args=[complaint.pk])

    page = client.get(url).content.decode()
    assert "Hit this customer" in page
    assert f"{breakdown.reference} {breakdown.title}" in page

    response = client.post(
        reverse("cases:link_breakdown", args=[complaint.pk]),
        {"breakdown": breakdown.pk},
        follow=True,
    )

    page = response.content.decode()
    assert f"Linked to breakdown {breakdown.reference}" in page
    assert reverse("breakdowns:detail", args=[breakdown.pk]) in page
    assert "Came in on its own" in page
    assert f"Unlink from {breakdown.reference}" in page
    complaint.refresh_from_db()
    assert complaint.breakdown_id == breakdown.pk

    response = client.post(reverse("cases:unlink_breakdown", args=[complaint.pk]), follow=True)
    assert "no longer linked to a breakdown" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.breakdown_id is None


def test_a_case_opened_by_outreach_says_so_and_offers_no_unlink(lead):
    breakdown, (first, _second) = _hit(lead)
    _recovering(breakdown, lead)
    proactive = Case.objects.get(customer=first, proactive=True)

    page = _client(lead).get(reverse("cases:detail", args=[proactive.pk])).content.decode()

    assert "Opened by the breakdown's proactive outreach" in page
    assert breakdown.reference in page
    assert "Unlink from" not in page


def test_an_agent_who_works_cases_can_link(agent_client, lead):
    breakdown, (first, _second) = _hit(lead)
    complaint = _complaint(first, lead)

    response = agent_client.post(
        reverse("cases:link_breakdown", args=[complaint.pk]), {"breakdown": breakdown.pk}
    )

    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.breakdown_id == breakdown.pk


def test_someone_who_may_only_read_cases_sees_no_form_and_is_refused(lead):
    breakdown, (first, _second) = _hit(lead)
    complaint = _complaint(first, lead)
    reader = UserFactory(role=Role.AGENT)
    reader.groups.clear()
    reader.user_permissions.add(
        Permission.objects.get(content_type__app_label="cases", codename="view_case")
    )
    client = _client(reader)

    page = client.get(reverse("cases:detail", args=[complaint.pk])).content.decode()
    assert "Link to breakdown" not in page

    response = client.post(
        reverse("cases:link_breakdown", args=[complaint.pk]), {"breakdown": breakdown.pk}
    )
    assert response.status_code == 403
    complaint.refresh_from_db()
    assert complaint.breakdown_id is None


def test_a_refused_link_is_shown_as_a_message_not_an_error_page(lead):
    breakdown, (first, _second) = _hit(lead)
    other, _people = _hit(lead)
    complaint = _complaint(first, lead)
    breakdown_link_case(breakdown=breakdown, case=complaint, actor=lead)

    # A page opened before the link was made still offers the other breakdown.
    response = _client(lead).post(
        reverse("cases:link_breakdown", args=[complaint.pk]), {"breakdown": other.pk}
    )

    assert response.status_code == 200
    assert f"already belongs to breakdown {breakdown.reference}" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.breakdown_id == breakdown.pk


def test_a_breakdown_that_can_no_longer_take_cases_is_a_field_error(lead):
    breakdown, (first, _second) = _hit(lead)
    complaint = _complaint(first, lead)
    breakdown_cancel(breakdown=breakdown, actor=lead, reason="False alarm")

    response = _client(lead).post(
        reverse("cases:link_breakdown", args=[complaint.pk]), {"breakdown": breakdown.pk}
    )

    assert response.status_code == 200
    assert "can no longer take cases" in response.content.decode()
    assert not BreakdownEvent.objects.filter(kind="case_linked").exists()


def test_the_case_page_offering_breakdowns_stays_within_its_queries(
    lead, django_assert_max_num_queries
):
    for _ in range(3):
        _hit(lead)
    complaint = _complaint(CustomerFactory(), lead)
    client = _client(lead)
    url = reverse("cases:detail", args=[complaint.pk])
    client.get(url)

    with django_assert_max_num_queries(40):
        response = client.get(url)

    assert response.content.decode().count("(declared)") == 3
