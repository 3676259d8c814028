"""Spike detection: a planted spike raises one suspected breakdown, declared in one go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bounceback.breakdowns.models import Breakdown
from bounceback.discovery import spikes
from bounceback.discovery.models import SuspectedBreakdown
from bounceback.discovery.services import discovery_scan, suspected_declare
from bounceback.discovery.synthetic import Planted, generate
from bounceback.notifications.models import Notification
from bounceback.signals.services import signals_record_many
from bounceback.testing.factories import UserFactory
from bounceback.testing.playbooks_factories import make_playbook
from bounceback.testing.webhooks_factories import WebhookSubscriptionFactory
from bounceback.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def test_poisson_tail_is_a_count_test_not_a_z_score() -> None:
    assert spikes.poisson_tail(2, 0.3) > 1e-2  # 2 against a usual 0 is nothing
    assert spikes.poisson_tail(9, 1.0) < 1e-5  # 9 against a usual 1 is a spike
    assert abs(spikes.poisson_tail(1, 1.0) - (1 - 2.718281828**-1)) < 1e-9


def _load(spike_at: datetime, extra: int) -> None:
    items = generate(
        start=START,
        days=70,
        series={"depot": 6.0, "grand-hall": 10.0},
        spikes=[Planted("depot", spike_at, 3, extra)],
    )
    for start in range(0, len(items), 2000):
        result = signals_record_many(items=items[start : start + 2000])
        assert not result.errors


def test_a_planted_spike_raises_one_suspicion_that_is_updated_not_repeated(settings) -> None:
    settings.TIME_ZONE = "UTC"
    manager = UserFactory(role="manager")
    WebhookSubscriptionFactory(events=["breakdown.suspected"])
    spike_at = START + timedelta(days=65, hours=9)
    _load(spike_at, extra=25)

    first = discovery_scan(since=START + timedelta(days=63), until=START + timedelta(days=70))
    again = discovery_scan(since=START + timedelta(days=63), until=START + timedelta(days=70))

    suspects = list(SuspectedBreakdown.objects.all())
    assert [s.dimension for s in suspects] == ["site"]
    assert {(s.dimension) for s in first.spikes} == {"site"}
    assert again.raised == []
    suspect = suspects[0]
    assert suspect.first_bucket_at <= spike_at < suspect.last_bucket_at + timedelta(days=1)
    assert suspect.peak_count >= 25
    assert Notification.objects.filter(recipient=manager, kind="breakdown_suspected").count() == 1
    assert WebhookDelivery.objects.filter(event="breakdown.suspected").count() == 1
    assert suspect.evidence["points"]


def test_quiet_background_raises_nothing(settings) -> None:
    settings.TIME_ZONE = "UTC"
    _load(START + timedelta(days=10), extra=0)

    result = discovery_scan(since=START + timedelta(days=56), until=START + timedelta(days=70))

    assert result.spikes == []


def test_declaring_prefills_the_breakdown_and_links_the_open_cases(settings) -> None:
    settings.TIME_ZONE = "UTC"
    from bounceback.cases.services import case_open
    from bounceback.sites.models import Site
    from bounceback.testing.factories import CustomerFactory

    manager = UserFactory(role="manager")
    spike_at = START + timedelta(days=65, hours=9)
    _load(spike_at, extra=25)
    discovery_scan(since=START + timedelta(days=63), until=START + timedelta(days=70))
    suspect = SuspectedBreakdown.objects.get()
    depot = Site.objects.get(code="depot")
    case = case_open(
        customer=CustomerFactory(),
        summary="Where is my parcel",
        site=depot,
        actor=manager,
        opened_at=spike_at + timedelta(minutes=30),
    )
    playbook = make_playbook()

    breakdown = suspected_declare(suspect=suspect, actor=manager, playbook=playbook)

    suspect.refresh_from_db()
    assert suspect.status == "declared" and suspect.breakdown == breakdown
    assert breakdown.site == depot and breakdown.source == Breakdown.Source.DETECTION
    assert breakdown.window_start == suspect.first_bucket_at
    case.refresh_from_db()
    assert case.breakdown == breakdown
