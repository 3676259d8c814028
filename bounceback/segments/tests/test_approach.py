"""Membership recompute, the combined approach, and its effect on new cases."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.background.models import Job
from bounceback.background.services import job_run
from bounceback.cases.models import CaseEvent, Severity
from bounceback.cases.services import case_open
from bounceback.customers.services import customer_update
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.notifications.models import Notification
from bounceback.segments.models import CustomerToRecompute, Segment, SegmentMembership
from bounceback.segments.selectors import customer_approach
from bounceback.segments.services import (
    segment_create,
    segment_memberships_recompute,
    segment_update,
    segments_recompute_due,
)
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.segments_factories import SegmentFactory
from bounceback.timers.models import Timer

pytestmark = pytest.mark.django_db

VIP = [{"field": "tag", "op": "has", "value": "vip"}]
RICH = [{"field": "lifetime_value", "op": ">=", "value": "1000.00"}]


def _members(segment: Segment) -> set[str]:
    return set(segment.memberships.values_list("customer__name", flat=True))


def test_given_changed_data_when_recomputed_then_customers_join_and_leave() -> None:
    vip = SegmentFactory(rules=VIP)
    anna = CustomerFactory(name="Anna", tags=["vip"])
    ben = CustomerFactory(name="Ben", tags=[])
    counts = segment_memberships_recompute()
    assert (counts.joined, counts.left) == (1, 0)
    assert _members(vip) == {"Anna"}

    anna.tags = []
    anna.save(update_fields=["tags"])
    ben.tags = ["vip"]
    ben.save(update_fields=["tags"])
    counts = segment_memberships_recompute(segment=vip)

    assert (counts.joined, counts.left) == (1, 1)
    assert _members(vip) == {"Ben"}
    vip.refresh_from_db()
    assert vip.recomputed_at is not None


def test_given_customer_ids_when_recomputed_then_other_customers_are_left_alone() -> None:
    vip = SegmentFactory(rules=VIP)
    anna = CustomerFactory(name="Anna", tags=["vip"])
    CustomerFactory(name="Ben", tags=["vip"])

    counts = segment_memberships_recompute(customer_ids=[anna.pk])

    assert counts.joined == 1
    assert _members(vip) == {"Anna"}


def test_given_an_inactive_segment_when_recomputed_then_it_has_no_members() -> None:
    vip = SegmentFactory(rules=VIP)
    CustomerFactory(name="Anna", tags=["vip"])
    segment_memberships_recompute()
    vip.active = False
    vip.save(update_fields=["active"])

    segment_memberships_recompute()

    assert _members(vip) == set()


def test_given_several_segments_when_asking_the_approach_then_they_combine(
    django_assert_max_num_queries,
) -> None:
    customer = CustomerFactory(tags=["vip"], lifetime_value=Decimal("5000"))
    SegmentFactory(
        name="High value",
        slug="high-value",
        rules=RICH,
        priority=20,
        minimum_severity=Severity.HIGH,
        timer_percent=50,
        senior_handling=Role.LEAD,
        guidance="Offer an immediate solution.",
        compensation_tier=Decimal("500.00"),
    )
    SegmentFactory(
        name="VIP",
        slug="vip",
        rules=VIP,
        priority=10,
        minimum_severity=Severity.NORMAL,
        timer_percent=75,
        senior_handling=Role.MANAGER,
        guidance="Call them back personally.",
        compensation_tier=Decimal("200.00"),
    )
    SegmentFactory(name="Dormant", slug="dormant", rules=VIP, active=False, timer_percent=10)
    segment_memberships_recompute()

    with django_assert_max_num_queries(1):
        approach = customer_approach(customer)

    assert approach.slugs == ["vip", "high-value"]
    assert approach.lead is not None and approach.lead.name == "VIP"
    assert approach.guidance == ["Call them back personally.", "Offer an immediate solution."]
    assert approach.minimum_severity == Severity.HIGH
    assert approach.timer_percent == 50
    assert approach.senior_handling == Role.MANAGER
    assert approach.per_case_limit_lift == Decimal("500.00")
    assert approach.currency == "USD"
    assert approach.covers("vip") and approach.covers("all") and not approach.covers("new")


def test_given_no_segments_when_asking_the_approach_then_it_is_neutral() -> None:
    approach = customer_approach(CustomerFactory())
    assert approach.segments == [] and approach.timer_percent == 100
    assert approach.minimum_severity is None and approach.per_case_limit_lift is None
    assert approach.severity_for(Severity.LOW) == Severity.LOW


def _timer_seconds(case: object) -> int:
    timer = Timer.objects.get(subject_type="case", subject_id=case.pk, kind="apologise")  # type: ignore[attr-defined]
    return timer.target_seconds


def test_given_a_vip_when_a_case_opens_then_severity_rises_timers_shorten_and_seniors_hear(
    agent,
) -> None:
    lead = UserFactory(role=Role.LEAD)
    SegmentFactory(
        name="VIP",
        slug="vip",
        rules=VIP,
        minimum_severity=Severity.HIGH,
        timer_percent=50,
        senior_handling=Role.LEAD,
    )
    vip = CustomerFactory(tags=["vip"])
    normal = CustomerFactory(tags=[])
    segment_memberships_recompute()

    vip_case = case_open(customer=vip, summary="Late", actor=agent, severity=Severity.NORMAL)
    normal_case = case_open(customer=normal, summary="Late", actor=agent, severity=Severity.NORMAL)

    assert (vip_case.severity, vip_case.timer_percent) == (Severity.HIGH, 50)
    assert (normal_case.severity, normal_case.timer_percent) == (Severity.NORMAL, 100)
    # Same policy minutes for both would be the fair comparison: compare to the high policy.
    from bounceback.cases.policy import policy_for

    high = policy_for(severity=Severity.HIGH).apologise_minutes * 60
    normal_target = policy_for(severity=Severity.NORMAL).apologise_minutes * 60
    assert _timer_seconds(vip_case) == high // 2
    assert _timer_seconds(normal_case) == normal_target
    opened = CaseEvent.objects.get(case=vip_case, kind="opened")
    assert opened.data == {
        "segments": ["vip"],
        "severity": ["normal", "high"],
        "timer_percent": 50,
        "senior_handling": "lead",
    }
    assert CaseEvent.objects.get(case=normal_case, kind="opened").data == {}
    assert Notification.objects.filter(recipient=lead, kind="senior_handling").count() == 1


def test_given_a_critical_case_when_the_floor_is_lower_then_severity_is_kept(agent) -> None:
    SegmentFactory(rules=VIP, minimum_severity=Severity.HIGH)
    customer = CustomerFactory(tags=["vip"])
    segment_memberships_recompute()

    case = case_open(customer=customer, summary="Down", actor=agent, severity=Severity.CRITICAL)

    assert case.severity == Severity.CRITICAL
    assert "severity" not in CaseEvent.objects.get(case=case, kind="opened").data


def test_given_a_manager_when_creating_a_segment_then_it_is_audited_and_filled(admin_user) -> None:
    manager = UserFactory(role=Role.MANAGER)
    CustomerFactory(name="Anna", tags=["vip"])

    segment = segment_create(
        actor=manager, name="Very important", rules=VIP, compensation_tier="250.00"
    )

    assert segment.slug == "very-important"
    assert segment.compensation_tier == Decimal("250.00")
    assert _members(segment) == {"Anna"}
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SEGMENT_CREATED).count() == 1


def test_given_an_agent_when_creating_a_segment_then_it_is_forbidden(agent) -> None:
    with pytest.raises(Forbidden):
        segment_create(actor=agent, name="Mine", rules=VIP)
    assert not Segment.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": "all"}, "slug"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"timer_percent": 5}, "timer_percent"),
        ({"minimum_severity": "urgent"}, "minimum_severity"),
        ({"senior_handling": "king"}, "senior_handling"),
        ({"compensation_tier": "-5"}, "compensation_tier"),
        ({"compensation_tier": "1.234"}, "compensation_tier"),
        ({"compensation_currency": "EUR"}, "compensation_currency"),
        ({"rules": [{"field": "tag", "op": "has"}]}, "rules[0].value"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_given_bad_changes_when_updating_then_the_field_is_named(changes, field) -> None:
    manager = UserFactory(role=Role.MANAGER)
    segment = SegmentFactory()
    with pytest.raises(ValidationFailed) as caught:
        segment_update(segment=segment, actor=manager, **changes)
    assert caught.value.field == field


def test_given_a_taken_slug_when_updating_then_it_conflicts() -> None:
    manager = UserFactory(role=Role.MANAGER)
    SegmentFactory(slug="vip")
    other = SegmentFactory()
    with pytest.raises(Conflict):
        segment_update(segment=other, actor=manager, slug="vip")


def test_given_new_rules_when_updating_then_members_follow_and_the_change_is_audited() -> None:
    manager = UserFactory(role=Role.MANAGER)
    segment = SegmentFactory(rules=VIP)
    CustomerFactory(name="Anna", tags=["vip"])
    CustomerFactory(name="Rich", lifetime_value=Decimal("2000"))
    segment_memberships_recompute()

    segment_update(segment=segment, actor=manager, rules=RICH, guidance="Be quick")

    assert _members(segment) == {"Rich"}
    audit = AuditEvent.objects.get(action=AuditEvent.Action.SEGMENT_CHANGED)
    assert sorted(audit.data["changed"]) == ["guidance", "rules"]


def test_given_a_tag_change_when_committed_then_a_customer_recompute_is_queued(
    django_capture_on_commit_callbacks,
) -> None:
    vip = SegmentFactory(rules=VIP)
    customer = CustomerFactory(name="Anna")
    with django_capture_on_commit_callbacks() as callbacks:
        customer_update(customer=customer, tags=["vip"])
    assert callbacks  # a worker is woken once the change commits
    # The work is a mark on the customer and a job row, not only a queued task.
    assert CustomerToRecompute.objects.filter(customer=customer).exists()

    assert job_run(key="segments:customers")

    assert _members(vip) == {"Anna"}
    assert not CustomerToRecompute.objects.exists()
    assert Job.objects.get(key="segments:customers").state == Job.State.DONE


def test_given_a_recompute_lost_with_its_worker_then_the_marks_bring_it_back(monkeypatch) -> None:
    vip = SegmentFactory(rules=VIP)
    customer = CustomerFactory(name="Anna")
    customer_update(customer=customer, tags=["vip"])
    # Given the worker running it died: the job is left "running" under a lapsed lease
    Job.objects.filter(key="segments:customers").update(
        state=Job.State.RUNNING,
        lease_owner="a-dead-worker",
        lease_until=timezone.now() - timedelta(minutes=5),
        due_at=timezone.now() - timedelta(minutes=5),
    )

    from bounceback.background import leases

    # This process has been connected for longer than a lease.
    monkeypatch.setattr(leases, "_connected_since", time.monotonic() - 3600)
    assert job_run(key="segments:customers")

    assert _members(vip) == {"Anna"}


def test_given_the_clock_when_a_segment_is_due_then_one_recompute_is_queued_per_interval(
    settings,
) -> None:
    from bounceback.segments import services

    settings.BOUNCEBACK_SEGMENTS_RECOMPUTE_MINUTES = 60
    now = timezone.now()
    SegmentFactory(recomputed_at=now - timedelta(hours=2))
    SegmentFactory(recomputed_at=now)
    services._next_check.clear()

    assert segments_recompute_due(now=now) == 1
    # Claimed: neither this clock a minute later nor another clock queues it again.
    assert segments_recompute_due(now=now + timedelta(minutes=2)) == 0
    services._next_check.clear()
    assert segments_recompute_due(now=now + timedelta(minutes=3)) == 0
    services._next_check.clear()
    assert segments_recompute_due(now=now + timedelta(minutes=130)) == 2
    assert SegmentMembership.objects.count() == 0


def test_given_the_customers_job_due_when_more_customers_change_then_its_row_is_not_locked() -> (
    None
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    vip = SegmentFactory(rules=VIP)
    anna, ben = CustomerFactory(name="Anna"), CustomerFactory(name="Ben")
    customer_update(customer=anna, tags=["vip"])
    job = Job.objects.get(key="segments:customers")
    assert job.state == Job.State.WAITING

    # When a second customer changes while the job waits to run
    with CaptureQueriesContext(connection) as queries:
        customer_update(customer=ben, tags=["vip"])

    # Then nothing writes or locks the shared job row, and one run does both
    job_writes = [
        sql
        for sql in (q["sql"] for q in queries.captured_queries)
        if "background_job" in sql
        and (not sql.lstrip().upper().startswith("SELECT") or "FOR UPDATE" in sql)
    ]
    assert job_writes == []
    assert job_run(key="segments:customers")
    assert _members(vip) == {"Anna", "Ben"}
    assert not CustomerToRecompute.objects.exists()


def test_given_marks_left_after_the_job_ended_when_the_clock_ticks_then_they_are_recomputed() -> (
    None
):
    from bounceback.segments import services

    vip = SegmentFactory(rules=VIP)
    anna = CustomerFactory(name="Anna")
    customer_update(customer=anna, tags=["vip"])
    # Given a run that finished without seeing Anna's mark (it committed just after)
    Job.objects.filter(key="segments:customers").update(state=Job.State.DONE)
    assert CustomerToRecompute.objects.filter(customer=anna).exists()
    services._next_check.clear()

    # When the clock ticks
    segments_recompute_due()

    # Then the job is asked for again and picks Anna up
    assert Job.objects.get(key="segments:customers").state == Job.State.WAITING
    assert job_run(key="segments:customers")
    assert _members(vip) == {"Anna"}
