"""A breakdown's cases close the loop together: documented from the review, followed up
as one wave, closed together."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bounceback.accounts.roles import Role
from bounceback.breakdowns.models import BreakdownEvent
from bounceback.breakdowns.services import (
    breakdown_action_complete,
    breakdown_all_clear,
    breakdown_close_cases,
    breakdown_confirm_outreach,
    breakdown_document_cases,
    breakdown_follow_up_cases,
    breakdown_outreach_run,
)
from bounceback.cases.models import Case, CaseEvent
from bounceback.errors import Conflict
from bounceback.interactions.models import Interaction
from bounceback.testing.breakdowns_factories import make_breakdown
from bounceback.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

DOCS = {
    "root_cause": "The generator was never tested under load",
    "what_was_done": "Refunds and rebooking for every guest",
    "prevention_idea": "Monthly load test of the generator",
}


@pytest.fixture
def lead():  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.LEAD)


def _over(lead, customers: int = 3):  # type: ignore[no-untyped-def]
    breakdown = make_breakdown(actor=lead, customers=customers)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    breakdown.refresh_from_db()
    first = breakdown.actions.order_by("position").first()
    breakdown_action_complete(action=first, actor=lead, note="Done")
    return breakdown_all_clear(breakdown=breakdown, actor=lead, body="Power is back.")


def test_before_the_all_clear_the_cases_cannot_be_documented_together(lead) -> None:  # type: ignore[no-untyped-def]
    breakdown = make_breakdown(actor=lead, customers=1)
    with pytest.raises(Conflict):
        breakdown_document_cases(breakdown=breakdown, actor=lead, **DOCS)


def test_the_review_documents_follows_up_and_closes_every_case_together(lead) -> None:  # type: ignore[no-untyped-def]
    breakdown = _over(lead)
    cases = list(Case.objects.filter(breakdown=breakdown))
    assert len(cases) == 3

    documented = breakdown_document_cases(breakdown=breakdown, actor=lead, **DOCS)
    assert len(documented.done) == 3
    for case in Case.objects.filter(breakdown=breakdown):
        assert case.root_cause == DOCS["root_cause"]
        assert case.events.filter(kind=CaseEvent.Kind.DOCUMENTED).count() == 1
    assert breakdown.review.root_cause == DOCS["root_cause"]

    wave = breakdown_follow_up_cases(
        breakdown=breakdown,
        actor=lead,
        body="{{ customer.first_name }}, did we put it right?",
        early_reason="The show is rebooked for Friday",
    )
    assert len(wave.done) == 3
    follow_ups = Interaction.objects.filter(
        case__breakdown=breakdown, metadata__purpose="follow_up"
    )
    assert follow_ups.count() == 3
    for message in follow_ups.select_related("customer"):
        assert message.body.startswith(message.customer.name.split()[0] + ", did we put it right?")

    closed = breakdown_close_cases(breakdown=breakdown, actor=lead)
    assert len(closed.done) == 3 and not closed.refused
    assert not Case.objects.filter(breakdown=breakdown).exclude(status="closed").exists()
    kinds = set(BreakdownEvent.objects.filter(breakdown=breakdown).values_list("kind", flat=True))
    assert {"cases_documented", "cases_followed_up", "cases_closed"} <= kinds


def test_closing_before_the_follow_up_names_what_each_case_needs(lead) -> None:  # type: ignore[no-untyped-def]
    breakdown = _over(lead, customers=2)
    breakdown_document_cases(breakdown=breakdown, actor=lead, **DOCS)

    outcome = breakdown_close_cases(breakdown=breakdown, actor=lead)

    assert not outcome.done
    assert all("follow up with the customer" in r.message for r in outcome.refused)


def test_the_review_page_closes_the_loop(lead) -> None:  # type: ignore[no-untyped-def]
    breakdown = _over(lead, customers=2)
    client = Client()
    client.force_login(lead)
    url = reverse("breakdowns:review", args=[breakdown.pk])

    page = client.get(url).content.decode()
    assert "Close the loop on its cases" in page
    response = client.post(reverse("breakdowns:document_cases", args=[breakdown.pk]), DOCS)
    assert response.status_code == 302
    client.post(
        reverse("breakdowns:follow_up_cases", args=[breakdown.pk]),
        {"body": "Did we put it right?", "early_reason": "Rebooked"},
    )
    response = client.post(reverse("breakdowns:close_cases", args=[breakdown.pk]))
    page = client.get(response["Location"]).content.decode()
    assert "2 cases closed." in page
    assert not Case.objects.filter(breakdown=breakdown).exclude(status="closed").exists()


def test_many_cases_close_the_loop_in_the_background_with_a_line_on_the_timeline(
    lead,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    from bounceback.cases import services as case_services
    from bounceback.cases.models import CaseBulkRun

    # Given a breakdown with more cases than are closed while the lead waits
    monkeypatch.setattr(case_services, "BULK_INLINE", 2)
    breakdown = _over(lead, customers=3)
    client = Client()
    client.force_login(lead)

    # When its cases are documented, then followed up, then closed from the review
    for name, data in (
        ("document_cases", DOCS),
        ("follow_up_cases", {"body": "Did we put it right?", "early_reason": "Rebooked"}),
        ("close_cases", {}),
    ):
        response = client.post(reverse(f"breakdowns:{name}", args=[breakdown.pk]), data)
        run = CaseBulkRun.objects.order_by("-pk").first()
        assert run is not None and run.total == 3
        # Then each goes to the background, the page following its progress
        assert response["Location"] == reverse("cases:bulk_run", args=[run.pk])
        case_services.cases_bulk_run_work(run_id=run.pk)

    # And every case is closed, the breakdown's timeline saying how it was done
    assert not Case.objects.filter(breakdown=breakdown).exclude(status="closed").exists()
    lines = list(
        BreakdownEvent.objects.filter(breakdown=breakdown, kind="cases_closed").values_list(
            "summary", flat=True
        )
    )
    assert lines == ["Closing 3 cases together in the background"]
    page = client.get(reverse("cases:bulk_run", args=[run.pk])).content.decode()
    assert "3 of 3 cases worked through" in page
    assert reverse("breakdowns:review", args=[breakdown.pk]) in page
