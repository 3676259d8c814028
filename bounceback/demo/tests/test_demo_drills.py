"""The demo's drills: a library, a past drill with its debrief, and scheduled ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import override_settings

from bounceback.demo.services import demo_load
from bounceback.drills.models import Drill, DrillScore, Scenario
from bounceback.outbox.models import OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    unblocked = django_db_blocker.unblock()  # type: ignore[attr-defined]
    with unblocked, override_settings(PASSWORD_HASHERS=fast), transaction.atomic():
        demo_load(seed=7, customers=60)
        yield
        transaction.set_rollback(True)


def test_the_demo_has_a_scenario_library(demo: None) -> None:
    assert Scenario.objects.filter(generated=True).count() >= 1


def test_the_past_drill_was_scored_and_debriefed(demo: None) -> None:
    past = Drill.objects.get(state=Drill.State.ENDED)
    assert past.readiness is not None
    assert past.debrief["slow"] and past.debrief["coaching"]
    assert DrillScore.objects.filter(drill=past, user__isnull=False).exists()
    assert past.improvements.exists()


def test_a_drill_is_scheduled_ahead(demo: None) -> None:
    scheduled = Drill.objects.filter(state=Drill.State.SCHEDULED)
    assert scheduled.exists()
    assert all(d.scheduled_for and d.schedule_id for d in scheduled)


def test_nothing_the_demo_drill_wrote_left_the_sandbox(demo: None) -> None:
    mine = OutboundMessage.objects.filter(customer__drill__isnull=False)
    assert mine.exists()
    assert set(mine.values_list("state", flat=True)) == {"captured"}
