"""The recovery sequence in a real browser: open a case and walk it to closed."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.cases import services
from bounceback.cases.models import Case
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import (
    CustomerFactory,
    SiteFactory,
    TeamFactory,
    TransactionFactory,
    UserFactory,
)
from bounceback.timers.models import Timer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLICHE = "We apologise for any inconvenience this may have caused."
SINCERE = (
    "Maria, I'm sorry: the show stopped for forty minutes because our generator failed and "
    "we did not tell you what was happening. That was our mistake. I will refund both tickets "
    "today and rebook you for Friday, and from now on we test the generator before every show "
    "so this does not happen again."
)


def _step(page: Any, key: str) -> Any:
    """A step's card, opened if it is folded."""
    card = page.locator(f"#step-{key}")
    if card.get_attribute("open") is None:
        card.locator("summary").click()
    return card


def _flash(page: Any, text: str) -> None:
    page.locator("#messages").get_by_text(text).wait_for()


def test_open_a_case_and_walk_the_recovery_to_closed(page: Any) -> None:
    agent = UserFactory(username="riley", role=Role.AGENT, first_name="Riley")
    maria = CustomerFactory(name="Maria Gonzalez", email="maria@example.com")
    CustomerFactory(name="Mario Rossi")
    SiteFactory(code="downtown", name="Downtown Theatre")
    TransactionFactory(customer=maria, product="Evening show", external_id="BK-1042")
    TransactionFactory(customer=maria, product="Matinee")

    sign_in(page, agent.username)
    page.get_by_role("heading", name="Welcome back, Riley").wait_for()

    # Open a case from the inbox: find the customer with the live search.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    page.get_by_role("heading", name="Cases", level=1).wait_for()
    page.get_by_role("link", name="Open a case").click()
    page.get_by_label("Find the customer").press_sequentially("gonz", delay=30)
    page.get_by_role("link", name=re.compile("Maria Gonzalez")).click()
    form = page.locator("form[action='/cases/new/']")
    form.get_by_label("Summary").fill("Show stopped by a power cut")
    form.get_by_label("In the customer's words").fill(
        "The lights went out halfway through and nobody told us anything for forty minutes."
    )
    form.get_by_label("Severity").select_option("high")
    form.get_by_label("Site").select_option("downtown")
    booking = maria.transactions.get(product="Evening show")
    form.get_by_label("Related transaction").select_option(str(booking.pk))
    assert "Evening show" in form.get_by_label("Related transaction").inner_text()
    assert form.get_by_label("Assignee").input_value() == str(agent.pk)
    form.get_by_role("button", name="Open case").click()

    page.get_by_role("heading", name="Show stopped by a power cut", level=1).wait_for()
    _flash(page, "Apologise within 30 minutes")
    case = Case.objects.get()
    assert (case.assignee, case.customer, case.severity) == (agent, maria, "high")
    assert page.locator(".stepper [aria-current='step']").inner_text().startswith("1")
    assert re.search(r"due in \d+m \d\ds", page.locator("#step-apologise summary").inner_text())

    # The coach flags a cliché as it is typed, and asks for an override.
    apology = page.get_by_label("Your apology")
    apology.press_sequentially(CLICHE, delay=5)
    coach = page.locator("#coach-panel")
    coach.get_by_text("is a stock phrase that names nothing").wait_for()
    assert "Name the actual harm" in coach.inner_text()
    assert coach.get_attribute("data-passed") == "false"
    page.locator("#apology-override").wait_for(state="visible")
    assert page.locator("#apology-send").inner_text() == "Send with override"

    # The coach's rewrite can be taken: it replaces the draft and passes.
    coach.get_by_role("button", name="Use this draft").click()
    coach.get_by_text("Ready to send").wait_for()
    assert "any inconvenience" not in apology.input_value()
    assert apology.input_value().startswith("Maria, I'm sorry")
    page.locator("#apology-override").wait_for(state="hidden")

    # A sincere apology passes: the override goes away and it is sent.
    apology.fill(SINCERE)
    apology.press("End")  # the coach listens to keystrokes
    coach.get_by_text("Ready to send").wait_for()
    page.locator("#apology-override").wait_for(state="hidden")
    assert page.locator("#apology-send").inner_text() == "Send apology"
    page.locator("#apology-send").click()
    _flash(page, "Apology sent.")
    assert "Apology sent (coach score" in page.locator("#timeline").inner_text()

    # The review, in the customer's view.
    review = _step(page, "review")
    review.get_by_label("What went wrong, in their view").fill("Show stopped, no information")
    review.get_by_label("What it cost them").fill("A ruined evening and a paid babysitter")
    review.get_by_label("What they propose as a fix").fill("A refund and new tickets")
    review.get_by_label("We accept it").check()
    review.get_by_role("button", name="Save review").click()
    _flash(page, "Review saved.")

    # The fix.
    fix = _step(page, "fix")
    fix.get_by_label("What fixed it").fill("Refunded both tickets, rebooked for Friday")
    fix.get_by_label("Tell the customer").fill("Your refund is on its way and Friday is booked.")
    fix.get_by_role("button", name="Mark fixed").click()
    _flash(page, "Marked fixed.")

    # The cool-off holds the follow-up back; following up early needs a reason.
    follow_up = _step(page, "follow_up")
    assert "Follow up after the cool-off ends at" in follow_up.inner_text()
    follow_up.get_by_role("button", name="Follow up early").click()
    page.locator("#step-follow_up [role=alert]").get_by_text("The cool-off runs until").wait_for()
    follow_up = _step(page, "follow_up")
    follow_up.get_by_label("Follow up early, because…").fill("She is travelling from tomorrow")
    follow_up.get_by_role("button", name="Follow up early").click()
    _flash(page, "Follow-up sent.")

    # Her answer.
    answer = _step(page, "follow_up")
    answer.get_by_role("group", name="Did they walk away happy?").get_by_label("Yes").check()
    answer.get_by_role("group", name=re.compile("Will they come back")).get_by_label("Yes").check()
    answer.get_by_label("What they said").fill("Thank you for sorting it so fast.")
    answer.get_by_role("button", name="Record the answer").click()
    _flash(page, "the customer is satisfied")

    # Document, then close.
    document = _step(page, "document")
    document.get_by_label("Root cause").fill("The backup generator was never tested")
    document.get_by_label("What was done").fill("Refund, rebooking on Friday")
    document.get_by_label("How to stop it happening again").fill("Test the generator weekly")
    document.get_by_role("button", name="Save documentation").click()
    _flash(page, "Documentation saved.")
    _step(page, "close").get_by_role("button", name="Close the case").click()
    _flash(page, f"Case {case.reference} closed.")

    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    assert (case.satisfied, case.will_return, case.proposal_accepted) == (True, True, True)
    assert list(case.events.values_list("kind", flat=True)) == [
        "opened",
        "apologised",
        "reviewed",
        "fixed",
        "follow_up_sent",
        "follow_up_recorded",
        "documented",
        "closed",
    ]
    assert case.events.get(kind="follow_up_sent").data == {
        "early_reason": "She is travelling from tomorrow"
    }
    assert OutboundMessage.objects.filter(customer=maria).count() == 3
    assert not Timer.objects.for_subject("case", case.pk).active().exists()
    stepper = page.locator(".stepper")
    assert stepper.locator(".stepper__item--done").count() == 6
    assert page.locator(".stepper__item--done").last.inner_text().startswith("Close")


def test_countdowns_tick_and_turn_red_when_overdue(page: Any) -> None:
    agent = UserFactory(role=Role.AGENT)
    customer = CustomerFactory(name="Grace Hopper")
    # Opened 59 minutes 57 seconds ago: the hour to apologise runs out in 3 seconds.
    services.case_open(
        customer=customer,
        summary="Parcel delivered three days late",
        actor=agent,
        assignee=agent,
        opened_at=timezone.now() - timedelta(minutes=59, seconds=57),
    )

    sign_in(page, agent.username)
    page.goto("/cases/")
    countdown = page.locator("#case-results [data-due]").first
    assert "countdown--warn" in countdown.get_attribute("class")
    page.wait_for_function(
        "el => el.classList.contains('countdown--over')", arg=countdown.element_handle()
    )
    assert countdown.inner_text().startswith("overdue by ")
    assert "is-overdue" in page.locator("#case-results tbody tr").first.get_attribute("class")


def _screenshot_both_widths(page: Any, path: str, name: str, directory: Path) -> list[Path]:
    shots = []
    for label, size in (("desktop", (1366, 900)), ("phone", (390, 844))):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.goto(path)
        page.wait_for_load_state("networkidle")
        shot = directory / f"{name}-{label}.png"
        page.screenshot(path=str(shot), full_page=True)
        shots.append(shot)
        # On a phone the page must not scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= size[0], (name, label)
    return shots


def test_screenshots_of_the_inbox_and_the_case_page(page: Any, screenshot_dir: Path) -> None:
    """Not an assertion on looks: saves the pages at desktop and phone widths for review."""
    team = TeamFactory(name="Front of house")
    morgan = UserFactory(
        username="morgan", role=Role.LEAD, first_name="Morgan", last_name="Reyes", team=team
    )
    riley = UserFactory(role=Role.AGENT, first_name="Riley", last_name="Chen", team=team)
    downtown = SiteFactory(code="downtown", name="Downtown Theatre")
    harbour = SiteFactory(code="harbour", name="Harbour Hall")
    now = timezone.now()
    maria = CustomerFactory(name="Maria Gonzalez", email="maria@example.com", phone="+4420794600")
    shown = services.case_open(
        customer=maria,
        summary="Show stopped by a power cut",
        description="The lights went out halfway through and nobody told us anything.",
        actor=morgan,
        assignee=morgan,
        severity="high",
        site=downtown,
        opened_at=now - timedelta(minutes=25),
    )
    shown = services.case_apologise(case=shown, actor=morgan, body=SINCERE)
    shown = services.case_review(
        case=shown,
        actor=morgan,
        what_went_wrong="Show stopped, no information",
        impact="A ruined evening",
        proposed_fix="Refund and new tickets",
        proposal_accepted=True,
    )
    services.case_send_update(
        case=shown, actor=morgan, body="The refund is on its way; new tickets follow by email."
    )
    OutboundMessage.objects.filter(pk=OutboundMessage.objects.latest("id").pk).update(
        state=OutboundMessage.State.FAILED,
        attempts=10,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )
    others = [
        ("Chad Patterson", "Car not ready: technician called in sick", "normal", harbour, 50),
        ("Ada Lovelace", "Wrong seats on the booking", "low", downtown, 5),
        ("Grace Hopper", "Parcel delivered three days late", "critical", None, 30),
        ("Alan Turing", "Refund not received after cancellation", "normal", None, 10),
    ]
    for name, summary, severity, site, minutes in others:
        case = services.case_open(
            customer=CustomerFactory(name=name),
            summary=summary,
            actor=morgan,
            assignee=riley if severity == "low" else morgan,
            severity=severity,
            site=site,
            opened_at=now - timedelta(minutes=minutes),
        )
        if severity == "critical":
            Case.objects.filter(pk=case.pk).update(breach_count=1)
        if name == "Alan Turing":
            services.case_wait_on_customer(case=case, actor=morgan, reason="Bank reference")
    fresh = Case.objects.get(summary__startswith="Car not ready")

    sign_in(page, morgan.username)
    page.get_by_role("heading", name="Welcome back, Morgan").wait_for()

    shots = _screenshot_both_widths(page, "/cases/?scope=team", "cases-inbox", screenshot_dir)
    shots += _screenshot_both_widths(page, f"/cases/{shown.pk}/", "case-page", screenshot_dir)
    # The compose box with the coach's verdict on a cliché.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/cases/{fresh.pk}/")
    page.get_by_label("Your apology").press_sequentially(CLICHE, delay=2)
    page.locator("#coach-panel").get_by_text("is a stock phrase").wait_for()
    compose = screenshot_dir / "case-compose-desktop.png"
    page.screenshot(path=str(compose), full_page=True)
    shots.append(compose)

    for shot in shots:
        assert shot.stat().st_size > 10_000
