"""A breakdown in a real browser: declare, preview, send, reach everyone, all clear, review."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.background.deliveries import lane_run_due
from bounceback.breakdowns.models import Breakdown
from bounceback.breakdowns.services import breakdown_outreach_run
from bounceback.cases.models import Case
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import OUTBOX_LANE
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import (
    CustomerFactory,
    SiteFactory,
    TransactionFactory,
    UserFactory,
)
from bounceback.testing.playbooks_factories import make_playbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUESTS = ["Maria Gonzalez", "Ada Lovelace", "Grace Hopper", "Alan Turing", "Chad Patterson"]
ZONE = "America/New_York"


def _flash(page: Any, text: str) -> None:
    page.locator("#messages").get_by_text(text).wait_for()


def _deliver(breakdown: Breakdown) -> int:
    """What the workers do in production: run the outreach, then send each queued message
    as its time (spaced at the channel's rate) comes."""
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    waiting = OutboundMessage.objects.filter(
        batch__startswith=f"bd-{breakdown.pk}-", state=OutboundMessage.State.QUEUED
    )
    sent = 0
    deadline = time.monotonic() + 30
    while waiting.exists() and time.monotonic() < deadline:
        sent += lane_run_due(OUTBOX_LANE)
        time.sleep(0.05)
    return sent


def test_declare_preview_send_update_all_clear_and_review(page: Any) -> None:
    lead = UserFactory(username="morgan", role=Role.LEAD, first_name="Morgan")
    venue = SiteFactory(code="grand-hall", name="Harbourside Grand Hall", time_zone=ZONE)
    playbook = make_playbook(name="Power outage at an event")
    show = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=3)
    for index, name in enumerate(GUESTS):
        guest = CustomerFactory(
            name=name, email=f"guest{index}@example.com", preferred_channel="email"
        )
        TransactionFactory(
            customer=guest,
            kind="booking",
            site=venue,
            product="Jazz on the Quay",
            scheduled_for=show,
        )
    TransactionFactory(
        customer=CustomerFactory(name="Elsewhere Eve"),
        kind="booking",
        site=SiteFactory(code="riverside-hall"),
        scheduled_for=show,
    )
    local = show.astimezone(ZoneInfo(ZONE))

    sign_in(page, lead.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Breakdowns").click()
    page.get_by_role("heading", name="Breakdowns", level=1).wait_for()
    page.get_by_role("link", name="Declare a breakdown").click()

    # Declare from the power-outage playbook, scoped to tonight at the venue.
    form = page.locator("form[action='/breakdowns/declare/']")
    form.get_by_label("Playbook").select_option(str(playbook.pk))
    assert "Power outage at an event" in form.get_by_label("Playbook").inner_text()
    form.get_by_label("Title").fill("Power cut at the Grand Hall")
    form.get_by_label("Severity").select_option("critical")
    form.get_by_label("Site").select_option("grand-hall")
    form.get_by_label("From").fill((local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Until").fill((local + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Booking").check()
    form.get_by_role("button", name="Declare and preview").click()

    # The preview: who, how many, the first message; nothing sent yet.
    page.get_by_role("heading", name="Power cut at the Grand Hall", level=1).wait_for()
    _flash(page, "5 customers affected")
    assert page.get_by_test_id("affected-total").inner_text() == "5"
    sample = page.locator("#sample")
    assert sample.get_by_role("link", name="Maria Gonzalez").is_visible()
    assert "Elsewhere Eve" not in sample.inner_text()
    assert "Dear Maria" in page.locator("#first-message").inner_text()
    assert not OutboundMessage.objects.exists()

    # Leave one guest out, then send to the rest.
    page.get_by_role("button", name="Leave out Chad Patterson").click()
    _flash(page, "Chad Patterson is left out of the outreach.")
    page.get_by_role("button", name="Send to 4 customers").click()
    _flash(page, "Outreach confirmed")
    breakdown = Breakdown.objects.get()
    assert breakdown.status == Breakdown.Status.RECOVERING

    # The page polls its progress while the workers deliver.
    progress = page.locator("#progress")
    progress.get_by_text("Sending…").wait_for()
    assert _deliver(breakdown) == 4
    page.locator("#progress-percent").get_by_text("100%").wait_for()
    assert progress.get_attribute("data-done") == "true"
    assert len(mail.outbox) == 4
    assert Case.objects.filter(breakdown=breakdown, proactive=True).count() == 4

    # Tick the first checklist action.
    first = page.locator("#checklist li").first
    first.get_by_placeholder("Note (optional)").fill("Whole building dark")
    first.get_by_role("button", name=re.compile("^Done")).click()
    _flash(page, "Done: Confirm what happened on site.")

    # Post an update, with the preview filled for the first customer as it is typed.
    update = page.locator("#update")
    update.get_by_label("Message").fill(
        "{{ customer.first_name }}, the engineers are on site at {{ site.name }}."
    )
    update.locator(".bd-preview").get_by_text(
        "Maria, the engineers are on site at Harbourside Grand Hall."
    ).wait_for()
    update.get_by_role("button", name="Send the update").click()
    _flash(page, "Status update sent")
    _deliver(breakdown)

    # Give the all-clear.
    page.locator("#all-clear > summary").click()
    clear = page.locator("#all-clear")
    assert "is over" in clear.get_by_label("Message").input_value()
    clear.get_by_role("button", name="Send the all-clear").click()
    _flash(page, "All clear given")
    assert page.locator("#breakdown-status").inner_text() == "All clear"
    _deliver(breakdown)

    # The review: the figures and the timeline wrote themselves.
    page.get_by_role("link", name="Write the review").click()
    page.get_by_role("heading", name=re.compile("^Review: Power cut")).wait_for()
    figures = page.locator("#figures")
    assert re.search(r"Affected\s+5", figures.inner_text())
    assert re.search(r"Reached\s+4", figures.inner_text())
    timeline = page.locator("#timeline").inner_text()
    for fragment in ("declared", "Outreach confirmed", "Confirm what happened on site"):
        assert fragment.lower() in timeline.lower(), fragment
    page.get_by_label("What went well").fill("Every guest heard from us within minutes.")
    page.get_by_label("What did not").fill("The backup generator had no fuel.")
    page.get_by_label("Actual cost").fill("80")
    page.get_by_role("button", name="Complete the review").click()
    _flash(page, "Review completed")
    breakdown.refresh_from_db()
    assert breakdown.status == Breakdown.Status.CLOSED
