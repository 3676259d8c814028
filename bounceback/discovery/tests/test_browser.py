"""Discovery in a real browser: a rule previewed and saved; a planted spike declared."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.discovery.models import Rule, SuspectedBreakdown
from bounceback.discovery.services import discovery_scan
from bounceback.discovery.synthetic import Planted, generate
from bounceback.signals.services import signals_record_many
from bounceback.testing.browser import sign_in
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.playbooks_factories import make_playbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rule_is_previewed_and_saved(page: Any) -> None:
    UserFactory(username="mina", role=Role.MANAGER)
    customer = CustomerFactory(name="Ada Lovelace")
    signals_record_many(
        items=[
            {
                "source": "nps",
                "external_id": "N-1",
                "kind": "survey",
                "nps": 2,
                "customer_id": customer.pk,
                "text": "Nobody called me back",
                "occurred_at": (timezone.now() - timedelta(days=2)).isoformat(),
            }
        ]
    )
    sign_in(page, "mina")
    page.goto("/discovery/")
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("Detractors")
    page.get_by_role("button", name="Preview on the last 30 days").click()

    summary = page.locator("[data-preview-summary]")
    summary.wait_for()
    assert "1 matched" in summary.inner_text()
    assert "Ada Lovelace" in page.locator("#preview").inner_text()
    page.get_by_role("button", name="Save rule").click()
    page.locator("#messages").get_by_text("Rule Detractors saved").wait_for()
    assert Rule.objects.get().name == "Detractors"


def test_a_planted_spike_is_declared_from_its_page(page: Any) -> None:
    UserFactory(username="lee", role=Role.MANAGER)
    make_playbook(name="Deliveries held at the depot")
    now = timezone.now()
    start = (now - timedelta(days=63)).replace(hour=0, minute=0, second=0, microsecond=0)
    items = generate(
        start=start,
        days=64,
        series={"depot": 4.0, "grand-hall": 8.0},
        spikes=[Planted("depot", now - timedelta(hours=6), 3, 20)],
    )
    items = [i for i in items if i["occurred_at"] < now.isoformat()]
    for at in range(0, len(items), 2000):
        signals_record_many(items=items[at : at + 2000])
    discovery_scan(since=now - timedelta(days=2), until=now)
    suspect = SuspectedBreakdown.objects.get(dimension="site")

    sign_in(page, "lee")
    page.goto("/discovery/")
    page.get_by_role("link", name=suspect.reference).click()
    page.get_by_role("img", name="Counts per").wait_for()
    page.get_by_role("button", name="Declare breakdown").click()

    page.locator("#messages").get_by_text("declared").wait_for()
    suspect.refresh_from_db()
    assert suspect.status == "declared"
    assert suspect.breakdown is not None and suspect.breakdown.site.code == "depot"
