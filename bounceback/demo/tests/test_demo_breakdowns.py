"""The demo's past breakdown: the Grand Hall power cut, played through and reviewed.

The demo is loaded once for this module (inside a transaction rolled back at
the end) because every test here only reads it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from bounceback.breakdowns.models import (
    AffectedCustomer,
    Breakdown,
    BreakdownAction,
    BreakdownMessage,
    ReviewActionItem,
)
from bounceback.breakdowns.selectors import breakdown_review_figures
from bounceback.cases.models import Case, CaseEvent
from bounceback.demo import business as biz
from bounceback.demo.playbooks import POWER_OUTAGE
from bounceback.demo.services import DemoSummary, demo_load
from bounceback.failuremodes.models import FailureMode
from bounceback.outbox.models import OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def summary(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> Iterator[DemoSummary]:
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    unblocked = django_db_blocker.unblock()  # type: ignore[attr-defined]
    with unblocked, override_settings(PASSWORD_HASHERS=fast), transaction.atomic():
        yield demo_load(seed=7, customers=80)
        transaction.set_rollback(True)


@pytest.fixture
def breakdown(summary: DemoSummary) -> Breakdown:
    return Breakdown.objects.select_related("playbook_version__playbook", "site").get()


def test_one_closed_past_breakdown_from_the_power_outage_playbook(
    summary: DemoSummary, breakdown: Breakdown
) -> None:
    assert summary.breakdowns == Breakdown.objects.count() == 1
    assert breakdown.status == Breakdown.Status.CLOSED
    assert breakdown.playbook_version.playbook.name == POWER_OUTAGE
    assert breakdown.site.code == biz.VENUE.code  # type: ignore[union-attr]
    assert breakdown.transaction_filter["attributes"] == {"incident": "power cut"}
    # Everyone hit had a booking for the concert the power cut stopped
    hit = breakdown.affected.select_related("transaction")
    assert hit.count() == breakdown.affected_count >= 10
    assert all(r.transaction.attributes.get("incident") == "power cut" for r in hit)  # type: ignore[union-attr]


def test_it_happened_days_ago_in_order(breakdown: Breakdown) -> None:
    now = timezone.now()
    assert breakdown.declared_at < now - timedelta(days=30)
    assert breakdown.confirmed_at is not None and breakdown.all_clear_at is not None
    assert breakdown.closed_at is not None and breakdown.closed_at < now - timedelta(days=30)
    moments = [
        breakdown.declared_at,
        breakdown.confirmed_at,
        breakdown.all_clear_at,
        breakdown.closed_at,
    ]
    assert moments == sorted(moments) and len(set(moments)) == 4
    events = list(breakdown.events.order_by("at", "id"))
    assert events[0].kind == "declared" and events[-1].kind == "review_completed"
    assert all(breakdown.declared_at <= e.at <= breakdown.closed_at for e in events)
    # Nothing the breakdown wrote is dated in the present
    cases = Case.objects.filter(breakdown=breakdown)
    assert not CaseEvent.objects.filter(case__in=cases, at__gt=now - timedelta(days=30)).exists()


def test_customers_were_reached_and_the_checklist_done_on_time(breakdown: Breakdown) -> None:
    figures = breakdown_review_figures(breakdown=breakdown)
    assert figures.reached > 0 and figures.failed == 0
    actions = list(breakdown.actions.all())
    assert actions and all(a.state == BreakdownAction.State.DONE and a.note for a in actions)
    assert all(a.done_at is not None and a.done_at <= a.due_at for a in actions)
    assert not breakdown.events.filter(kind="action_done", data__late=True).exists()
    kinds = Counter(breakdown.messages.values_list("kind", flat=True))
    assert kinds == {
        BreakdownMessage.Kind.OUTREACH: 1,
        BreakdownMessage.Kind.STATUS_UPDATE: 1,
        BreakdownMessage.Kind.ALL_CLEAR: 1,
    }
    assert breakdown.affected.filter(state=AffectedCustomer.State.QUEUED).count() == figures.reached


def test_nothing_is_left_to_deliver(breakdown: Breakdown) -> None:
    # The demo never emails anyone: the past's messages ended delivered, then.
    messages = OutboundMessage.objects.filter(batch__startswith=f"bd-{breakdown.pk}-")
    assert messages.count() >= 3 * breakdown_review_figures(breakdown=breakdown).reached
    assert set(messages.values_list("state", flat=True)) == {OutboundMessage.State.SENT}
    followed = OutboundMessage.objects.filter(interaction__case__breakdown=breakdown)
    assert not followed.exclude(state=OutboundMessage.State.SENT).exists()
    assert not followed.filter(created_at__gt=timezone.now() - timedelta(days=30)).exists()


def test_the_complaints_that_came_in_anyway_are_linked(breakdown: Breakdown) -> None:
    complaints = Case.objects.filter(breakdown=breakdown, proactive=False)
    assert complaints.count() >= 3
    assert all(c.transaction.attributes["incident"] == "power cut" for c in complaints)  # type: ignore[union-attr]
    for case in complaints:
        link = case.events.get(kind="linked_to_breakdown")
        assert link.at > case.created_at
        assert case.updated_at == case.events.order_by("at", "id").last().at  # type: ignore[union-attr]
    figures = breakdown_review_figures(breakdown=breakdown)
    assert figures.complaints_anyway == complaints.count()
    assert figures.replies > 0


def test_the_review_is_complete_with_figures_and_action_items(breakdown: Breakdown) -> None:
    review = breakdown.review
    assert review.completed_at == breakdown.closed_at
    assert review.went_well and review.went_badly
    assert review.actual_cost is not None and review.actual_cost > 0
    items = {i.kind: i for i in review.action_items.all()}
    proposal = items[ReviewActionItem.Kind.FAILURE_MODE].failure_mode
    assert proposal is not None and proposal.status == FailureMode.Status.PROPOSED
    assert proposal.touchpoint.site.code == biz.VENUE.code  # type: ignore[union-attr]
    change = items[ReviewActionItem.Kind.PLAYBOOK_CHANGE]
    assert change.playbook == breakdown.playbook_version.playbook


def test_the_proactive_cases_ended_as_a_days_old_breakdown_would_leave_them(
    breakdown: Breakdown,
) -> None:
    cases = list(Case.objects.filter(breakdown=breakdown, proactive=True))
    statuses = Counter(c.status for c in cases)
    # Most followed up, answered and closed; a few still waiting on the answer
    assert statuses[Case.Status.CLOSED] > len(cases) / 2
    assert set(statuses) == {Case.Status.CLOSED, Case.Status.FOLLOWING_UP}
    assert {c.satisfied for c in cases} >= {True, False}
    for case in cases:
        assert case.apologised_at == case.created_at
        assert case.fixed_at == breakdown.all_clear_at
        assert case.follow_up_sent_at is not None and case.fixed_at < case.follow_up_sent_at
        assert case.documented_at is not None
        assert case.updated_at == case.events.order_by("at", "id").last().at  # type: ignore[union-attr]
