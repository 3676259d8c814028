"""The demo's failure-mode catalog: its journey, scored modes, votes, and the cases linked to it.

The demo is loaded once for this module (inside a transaction rolled back at
the end) because every test here only reads it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import override_settings

from bounceback.cases.models import Case
from bounceback.demo import business as biz
from bounceback.demo import case_scripts as cs
from bounceback.demo.catalog import ACCEPTED
from bounceback.demo.services import DemoSummary, demo_load
from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.failuremodes.selectors import catalog, coverage
from bounceback.mail.models import InboundEmail
from bounceback.portal.models import WebFormSubmission

pytestmark = pytest.mark.django_db

SEED = 7
CUSTOMERS = 80
PLAYBOOK_MODES = {
    "Power outage during an event": biz.VENUE.code,
    "Technician off sick": biz.WORKSHOP.code,
    "Shipments delayed by weather": biz.DEPOT.code,
    "Phone system down": None,
}


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[DemoSummary]:
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    unblocked = django_db_blocker.unblock()  # type: ignore[attr-defined]
    with unblocked, override_settings(PASSWORD_HASHERS=fast), transaction.atomic():
        yield demo_load(seed=SEED, customers=CUSTOMERS)
        transaction.set_rollback(True)


def test_every_case_story_names_a_failure_mode_the_catalog_accepts() -> None:
    titles = {spec.title for spec in ACCEPTED}

    assert {story.failure_mode for story in cs.STORIES.values()} <= titles


def test_the_catalog_has_25_or_more_scored_modes_over_the_journey(demo: DemoSummary) -> None:
    accepted = FailureMode.objects.accepted().select_related("touchpoint__site")

    assert demo.failure_modes == accepted.count() >= 25
    assert {m.touchpoint.site.code if m.touchpoint.site else None for m in accepted} == {
        None,
        *[s.code for s in biz.SITES],
    }
    assert all(m.rpn == m.severity * m.occurrence * m.detection for m in accepted)
    assert all(m.decided_by is not None for m in accepted)
    # Journey order: booking comes first, contacting us last.
    names = list(Touchpoint.objects.values_list("name", flat=True))
    assert (names[0], names[-1]) == ("Booking and tickets", "Contacting us")


def test_the_playbooks_high_risk_modes_are_there_at_their_sites(demo: DemoSummary) -> None:
    report = coverage()
    rows = {row.mode.title: row for row in report.rows}

    for title, site in PLAYBOOK_MODES.items():
        row = rows[title]
        assert row.high_risk, title
        where = row.mode.touchpoint.site
        assert (where.code if where else None) == site


def test_every_demo_case_is_linked_to_an_accepted_failure_mode(demo: DemoSummary) -> None:
    # Cases that arrived by the channels (email, the public form) wait for a
    # person to classify them, as they would in real life.
    arrived = [
        *InboundEmail.objects.exclude(case=None).values_list("case_id", flat=True),
        *WebFormSubmission.objects.exclude(case=None).values_list("case_id", flat=True),
    ]
    # So do the cases discovery's rules opened from signals.
    from bounceback.discovery.models import RuleFiring

    arrived += list(RuleFiring.objects.exclude(case=None).values_list("case_id", flat=True))
    assert arrived
    # A drill's practice cases are not the business's record.
    cases = Case.objects.real().filter(breakdown__isnull=True).exclude(pk__in=arrived)

    assert cases.exists()
    assert not cases.filter(failure_mode__isnull=True).exists()
    assert not cases.exclude(failure_mode__status=FailureMode.Status.ACCEPTED).exists()
    power = Case.objects.real().filter(failure_mode__title="Power outage during an event")
    assert power.count() >= 1
    assert set(power.values_list("site__code", flat=True)) == {biz.VENUE.code}


def test_the_catalog_flags_an_estimate_the_cases_disagree_with(demo: DemoSummary) -> None:
    entries = catalog(period_days=90)

    flagged = {e.mode.title: e.observed for e in entries if e.observed.disagreement}
    assert flagged, "no estimate disagrees with the demo's cases over 90 days"
    assert set(flagged) & {"Fault not fixed first time", "Wrong item or size packed"}
    for observed in flagged.values():
        assert observed.disagreement == "more"
        assert observed.cases >= 2


def test_proposals_carry_votes_and_the_rejection_its_reason(demo: DemoSummary) -> None:
    proposed = {e.mode.title: e for e in catalog(status=FailureMode.Status.PROPOSED)}
    rejected = FailureMode.objects.get(status=FailureMode.Status.REJECTED)

    # (besides the one the past breakdown's review proposed: see test_demo_breakdowns)
    reviewed = FailureMode.objects.filter(review_action_items__isnull=False)
    from_review = set(reviewed.values_list("title", flat=True))
    assert len(set(proposed) - from_review) == 2
    bar = proposed["Bar queue delays the second half"]
    assert (bar.votes_up, bar.votes_down) == (2, 1)
    assert rejected.decision_reason.startswith("A preference, not a service failure")
    assert rejected.decided_by.username == "lead"
