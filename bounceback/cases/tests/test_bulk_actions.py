"""Acting on many cases: each case goes through its own service, refusals are named."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bounceback.accounts.roles import Role
from bounceback.cases.models import Case, CaseEvent, CaseLink
from bounceback.cases.services import (
    BulkAction,
    case_apologise,
    case_follow_up,
    case_mark_fixed,
    case_open,
    cases_bulk_apply,
)
from bounceback.errors import ValidationFailed
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.failuremodes_factories import FailureModeFactory

from .conftest import SINCERE

pytestmark = pytest.mark.django_db

DOCS = {
    "root_cause": "The generator was never tested under load",
    "what_was_done": "Refunds and rebooking for every guest",
    "prevention_idea": "Monthly load test of the generator",
}


def _case(agent, name: str = "Chad Patterson") -> Case:  # type: ignore[no-untyped-def]
    return case_open(
        customer=CustomerFactory(name=name), summary="Show stopped", actor=agent, assignee=agent
    )


def _followed_up(agent) -> Case:  # type: ignore[no-untyped-def]
    case = case_apologise(case=_case(agent), actor=agent, body=SINCERE)
    case = case_mark_fixed(case=case, actor=agent, fix_summary="Rebooked")
    return case_follow_up(case=case, actor=agent, body="All well?", early_reason="Asked to")


def test_assign_many_records_each_cases_event(agent) -> None:  # type: ignore[no-untyped-def]
    cases = [_case(agent) for _ in range(3)]
    lead = UserFactory(role=Role.LEAD)

    outcome = cases_bulk_apply(cases=cases, action=BulkAction.ASSIGN, actor=agent, assignee=lead)

    assert len(outcome.done) == 3 and not outcome.refused
    assert set(Case.objects.values_list("assignee", flat=True)) == {lead.pk}
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.ASSIGNED).count() == 3


def test_set_failure_mode_and_link_many(agent) -> None:  # type: ignore[no-untyped-def]
    cases = [_case(agent) for _ in range(3)]
    mode = FailureModeFactory(status="accepted")

    cases_bulk_apply(cases=cases, action=BulkAction.FAILURE_MODE, actor=agent, failure_mode=mode)
    outcome = cases_bulk_apply(cases=cases, action=BulkAction.LINK, actor=agent)

    assert set(Case.objects.values_list("failure_mode", flat=True)) == {mode.pk}
    assert len(outcome.done) == 2
    assert set(CaseLink.objects.values_list("to_case", flat=True)) == {cases[0].pk}


def test_message_many_fills_each_name_and_names_the_refused(agent) -> None:  # type: ignore[no-untyped-def]
    ready = case_apologise(case=_case(agent, "Ada Lovelace"), actor=agent, body=SINCERE)
    not_yet = _case(agent, "Bob Builder")

    outcome = cases_bulk_apply(
        cases=[ready, not_yet],
        action=BulkAction.MESSAGE,
        actor=agent,
        body="{{ customer.first_name }}, the engineer arrives at 3pm.",
    )

    assert [c.pk for c in outcome.done] == [ready.pk]
    assert outcome.refused[0].reference == not_yet.reference
    assert "apologise to the customer first" in outcome.refused[0].message
    update = OutboundMessage.objects.filter(customer=ready.customer).order_by("-id").first()
    assert update.body_text.startswith("Ada, the engineer arrives at 3pm.")
    assert f"{not_yet.reference}: apologise" in outcome.summary()


def test_close_many_with_one_shared_documentation(agent) -> None:  # type: ignore[no-untyped-def]
    done = [_followed_up(agent) for _ in range(2)]
    open_one = _case(agent)

    outcome = cases_bulk_apply(
        cases=[*done, open_one], action=BulkAction.CLOSE, actor=agent, **DOCS
    )

    assert {c.pk for c in outcome.done} == {c.pk for c in done}
    for case in done:
        case.refresh_from_db()
        assert case.status == Case.Status.CLOSED
        assert case.root_cause == DOCS["root_cause"]
        assert case.events.filter(kind=CaseEvent.Kind.DOCUMENTED).count() == 1
    # The refused case is left exactly as it was: not documented either.
    open_one.refresh_from_db()
    assert open_one.status == Case.Status.NEW and open_one.documented_at is None
    assert "document the case once it is fixed" in outcome.refused[0].message


def test_a_request_missing_what_the_action_needs_is_refused_whole(agent) -> None:  # type: ignore[no-untyped-def]
    cases = [_followed_up(agent)]
    with pytest.raises(ValidationFailed) as refused:
        cases_bulk_apply(cases=cases, action=BulkAction.CLOSE, actor=agent, root_cause="x")
    assert refused.value.field == "what_was_done"
    with pytest.raises(ValidationFailed) as refused:
        cases_bulk_apply(cases=cases, action="explode", actor=agent)
    assert refused.value.field == "action"
    with pytest.raises(ValidationFailed) as refused:
        cases_bulk_apply(cases=cases, action=BulkAction.MESSAGE, actor=agent, body="{{ oops }}")
    assert refused.value.field == "body"
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.CLOSED).exists()


def test_the_inbox_posts_ticked_cases_to_the_bulk_form(agent, agent_client) -> None:  # type: ignore[no-untyped-def]
    cases = [_case(agent) for _ in range(2)]
    lead = UserFactory(role=Role.LEAD, first_name="Rosa", last_name="Diaz")

    page = agent_client.get(reverse("cases:inbox") + "?scope=all").content.decode()
    assert 'form="bulk-form"' in page and 'id="bulk-form"' in page

    response = agent_client.post(
        reverse("cases:bulk"),
        {
            "case": [c.pk for c in cases],
            "action": "assign",
            "assignee": lead.pk,
            "next": "/cases/?scope=all",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/cases/?scope=all"
    assert set(Case.objects.values_list("assignee", flat=True)) == {lead.pk}
    followed = agent_client.get(response["Location"]).content.decode()
    assert "2 cases assigned." in followed


def test_the_bulk_form_says_what_is_missing_and_never_leaves_the_site(agent, agent_client) -> None:  # type: ignore[no-untyped-def]
    case = _case(agent)
    response = agent_client.post(
        reverse("cases:bulk"),
        {"case": [case.pk], "action": "message", "body": "", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("cases:inbox")
    page = agent_client.get(response["Location"]).content.decode()
    assert "Body is required" in page or "body" in page.lower()


def test_api_bulk_answers_done_and_refused(make_token_client, agent) -> None:  # type: ignore[no-untyped-def]
    ready = _followed_up(agent)
    not_yet = _case(agent)
    client = make_token_client("cases:write")

    response = client.post(
        "/api/cases/bulk",
        {"case_ids": [ready.pk, not_yet.pk], "action": "close", **DOCS},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["done"] == [{"id": ready.pk, "reference": ready.reference, "status": "closed"}]
    assert body["refused"][0]["id"] == not_yet.pk
    missing = client.post(
        "/api/cases/bulk",
        {"case_ids": [999999], "action": "close"},
        content_type="application/json",
    )
    assert missing.status_code == 404 and missing.json()["field"] == "case_ids"
