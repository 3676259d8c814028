"""The daily desk in a real browser: a note with a mention, a canned reply, keyboard
shortcuts, and a bulk close of a breakdown's cases."""

from __future__ import annotations

from typing import Any

import pytest

from bounceback.accounts.roles import Role
from bounceback.breakdowns.services import (
    breakdown_action_complete,
    breakdown_all_clear,
    breakdown_confirm_outreach,
    breakdown_follow_up_cases,
    breakdown_outreach_run,
)
from bounceback.cases.models import Case, CaseEvent
from bounceback.cases.services import case_open
from bounceback.notifications.models import Notification
from bounceback.replies.services import canned_reply_create
from bounceback.testing.accessibility import assert_accessible
from bounceback.testing.breakdowns_factories import make_breakdown
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD = (
    "{{ customer.first_name }}, I'm sorry: {{ case.summary }} was our mistake, not yours. "
    "I will put it right today at no cost to you, and we have changed how we check every "
    "booking so this does not happen again. Your reference is {{ case.reference }}."
)


def _sign_in(page: Any, username: str) -> None:
    sign_in(page, username, start="/accounts/login/")
    page.wait_for_url("**/")


def _flash(page: Any, text: str) -> None:
    page.locator("#messages").get_by_text(text).wait_for()


def test_a_note_with_a_mention_reaches_the_colleague_and_never_the_customer(
    page: Any, browser: Any, live_server: Any
) -> None:
    agent = UserFactory(username="riley", role=Role.AGENT, first_name="Riley")
    UserFactory(username="rosa", role=Role.LEAD, first_name="Rosa", last_name="Diaz")
    case = case_open(
        customer=CustomerFactory(name="Maria Gonzalez"),
        summary="Show stopped",
        actor=agent,
        assignee=agent,
    )

    _sign_in(page, "riley")
    page.goto(f"/cases/{case.pk}/")
    page.get_by_label("Internal note").fill("@rosa she is a regular, can you call her?")
    page.get_by_role("button", name="Add note").click()
    _flash(page, "Note added; @rosa notified.")
    note = page.locator(".tl--note").first
    note.get_by_text("she is a regular").wait_for()
    assert note.get_by_text("Internal").count() >= 1
    assert_accessible(page, "the case page with a note")

    # Rosa sees it under the bell and lands on the note.
    other = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    other.set_default_timeout(10_000)
    rosa = other.new_page()
    _sign_in(rosa, "rosa")
    rosa.get_by_role("link", name="Notifications: 1 unread").click()
    rosa.get_by_text("Riley").first.wait_for()
    rosa.get_by_role("link", name=f"mentioned you on {case.reference}", exact=False).first.click()
    rosa.wait_for_url(f"**/cases/{case.pk}/**")
    assert Notification.objects.get(recipient__username="rosa").read_at is not None
    other.close()


def test_a_canned_reply_is_inserted_filled_in_and_scored_by_the_coach(page: Any) -> None:
    agent = UserFactory(username="riley", role=Role.AGENT, first_name="Riley")
    lead = UserFactory(username="rosa", role=Role.LEAD)
    canned_reply_create(title="Sorry, our mistake", purpose="apology", body=GOOD, actor=lead)
    case = case_open(
        customer=CustomerFactory(name="Maria Gonzalez", email="maria@example.com"),
        summary="Show stopped",
        actor=agent,
        assignee=agent,
    )

    _sign_in(page, "riley")
    page.goto(f"/cases/{case.pk}/")
    page.get_by_label("Insert a canned reply").select_option(label="Sorry, our mistake")
    page.locator("#step-apologise").get_by_role("button", name="Insert").click()
    body = page.locator("#id_body")
    page.wait_for_function("() => document.getElementById('id_body').value.startsWith('Maria, I')")
    assert case.reference in body.input_value()
    assert "{{" not in body.input_value()
    # The coach scores the inserted text at once.
    page.locator("#coach-panel .coach__number").wait_for()
    page.get_by_role("button", name="Send apology").click()
    _flash(page, "Apology sent.")
    assert Case.objects.get(pk=case.pk).apologised_at is not None


def test_keyboard_shortcuts_move_through_the_queue_and_assign(page: Any) -> None:
    agent = UserFactory(username="riley", role=Role.AGENT, first_name="Riley")
    first = case_open(customer=CustomerFactory(), summary="First", actor=agent, assignee=agent)
    case_open(customer=CustomerFactory(), summary="Second", actor=agent, assignee=agent)
    unassigned = case_open(customer=CustomerFactory(), summary="Nobody's", actor=agent)

    _sign_in(page, "riley")
    page.goto("/cases/")
    page.keyboard.press("?")
    page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.locator("tr.is-selected").count() == 1
    page.keyboard.press("Enter")
    # j, j, k: back on the first row, the case due soonest.
    page.wait_for_url(f"**/cases/{first.pk}/")

    page.goto(f"/cases/{unassigned.pk}/")
    page.keyboard.press("a")
    _flash(page, "Assigned to")
    assert Case.objects.get(pk=unassigned.pk).assignee_id == agent.pk


def test_a_bulk_close_of_a_breakdowns_cases_with_one_shared_documentation(page: Any) -> None:
    lead = UserFactory(username="rosa", role=Role.LEAD, first_name="Rosa")
    breakdown = make_breakdown(actor=lead, customers=3)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    breakdown.refresh_from_db()
    breakdown_action_complete(
        action=breakdown.actions.order_by("position").first(), actor=lead, note="Done"
    )
    breakdown_all_clear(breakdown=breakdown, actor=lead, body="Power is back.")
    breakdown_follow_up_cases(
        breakdown=breakdown, actor=lead, body="Did we put it right?", early_reason="Rebooked"
    )
    cases = list(Case.objects.filter(breakdown=breakdown).order_by("id"))
    assert len(cases) == 3

    _sign_in(page, "rosa")
    page.goto("/cases/?scope=all")
    for case in cases:
        page.get_by_label(f"Select {case.reference}").check()
    page.get_by_text("3 cases ticked.").wait_for()
    page.get_by_label("Action").select_option(label="Document and close")
    page.get_by_label("Root cause").fill("The generator was never tested under load")
    page.get_by_label("What was done").fill("Refunds and rebooking for every guest")
    page.get_by_label("How to prevent it").fill("Monthly load test of the generator")
    page.get_by_role("button", name="Apply to the ticked cases").click()
    _flash(page, "3 cases closed.")

    for case in Case.objects.filter(breakdown=breakdown):
        assert case.status == Case.Status.CLOSED
        assert case.root_cause == "The generator was never tested under load"
        assert case.events.filter(kind=CaseEvent.Kind.DOCUMENTED).count() == 1


def test_every_case_of_a_view_closed_in_the_background_with_its_progress(
    page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bounceback.cases import services
    from bounceback.cases.services import cases_bulk_run_work

    # Given a breakdown's three cases, followed up, and a "large" selection being more than two
    lead = UserFactory(username="rosa", role=Role.LEAD, first_name="Rosa")
    breakdown = make_breakdown(actor=lead, customers=3)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    breakdown.refresh_from_db()
    breakdown_action_complete(
        action=breakdown.actions.order_by("position").first(), actor=lead, note="Done"
    )
    breakdown_all_clear(breakdown=breakdown, actor=lead, body="Power is back.")
    breakdown_follow_up_cases(
        breakdown=breakdown, actor=lead, body="Did we put it right?", early_reason="Rebooked"
    )
    other = case_open(customer=CustomerFactory(), summary="Not this one", actor=lead)
    monkeypatch.setattr(services, "BULK_INLINE", 2)

    # When the lead closes every case of the breakdown's view, ticking none
    _sign_in(page, "rosa")
    page.goto(f"/cases/?view=all&breakdown={breakdown.reference}")
    page.get_by_label("Every case in this view, not only the ticked ones").check()
    page.get_by_text("Every case in this view.").wait_for()
    page.get_by_label("Action").select_option(label="Document and close")
    page.get_by_label("Root cause").fill("The generator was never tested under load")
    page.get_by_label("What was done").fill("Refunds and rebooking for every guest")
    page.get_by_label("How to prevent it").fill("Monthly load test of the generator")
    page.get_by_role("button", name="Apply to the ticked cases").click()

    # Then the run's page shows its progress, and the finish once a worker has done it
    page.get_by_text("0 of 3 cases worked through").wait_for()
    assert_accessible(page, "a bulk run's page")
    run_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    cases_bulk_run_work(run_id=run_id)
    page.get_by_text("3 of 3 cases worked through").wait_for(timeout=10_000)
    assert set(Case.objects.filter(breakdown=breakdown).values_list("status", flat=True)) == {
        Case.Status.CLOSED
    }
    assert Case.objects.get(pk=other.pk).status != Case.Status.CLOSED
