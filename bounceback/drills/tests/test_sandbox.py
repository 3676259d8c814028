"""A drill is a sandbox: its rows are marked, nothing it sends leaves, and no
report, segment, catalog count, loyalty figure or balance counts it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.background.deliveries import deliveries_run_due
from bounceback.cases.models import Case
from bounceback.cases.services import case_apologise
from bounceback.customers.models import Customer
from bounceback.drills.models import Drill, DrillInject
from bounceback.funds.models import Grant
from bounceback.funds.selectors import balances, spent_in_period
from bounceback.funds.services import grant_create
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import outbox_send
from bounceback.testing.drills_factories import make_drill
from bounceback.testing.factories import CustomerFactory
from bounceback.testing.funds_factories import open_case, set_policy
from bounceback.testing.webhooks_factories import WebhookSubscriptionFactory
from bounceback.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

APOLOGY = (
    "I'm so sorry: the show stopped because our generator failed, and that is on us. "
    "I am refunding your tickets today and we are adding a second generator so it "
    "does not happen again."
)


def _drill_case(drill: Drill) -> Case:
    inject = DrillInject.objects.filter(drill=drill, case__isnull=False).first()
    assert inject is not None and inject.case is not None
    return inject.case


def test_given_a_started_live_drill_then_its_first_inject_is_a_drill_customer_and_case():
    drill = make_drill()

    case = _drill_case(drill)
    assert case.drill_id == drill.pk
    assert case.customer.drill_id == drill.pk
    # Only the inject due at the start arrived; the second waits for its minute.
    assert DrillInject.objects.filter(drill=drill, delivered_at__isnull=False).count() == 1


def test_given_a_drill_case_when_the_agent_apologises_then_the_email_is_captured_not_sent():
    drill = make_drill()
    case = _drill_case(drill)
    agent = case.assignee

    case_apologise(case=case, actor=agent, body=APOLOGY, override_reason="practice")
    deliveries_run_due()

    message = OutboundMessage.objects.get(customer=case.customer)
    assert message.state == OutboundMessage.State.CAPTURED
    assert mail.outbox == []


def test_given_a_drill_message_somehow_claimed_when_sent_then_it_is_captured_instead():
    drill = make_drill()
    case = _drill_case(drill)
    case_apologise(case=case, actor=case.assignee, body=APOLOGY, override_reason="practice")
    message = OutboundMessage.objects.get(customer=case.customer)
    OutboundMessage.objects.filter(pk=message.pk).update(state=OutboundMessage.State.QUEUED)

    sent = outbox_send(message.pk)

    assert sent.state == OutboundMessage.State.CAPTURED
    assert mail.outbox == []


def test_given_a_webhook_subscriber_then_drill_cases_publish_nothing_but_real_ones_do():
    WebhookSubscriptionFactory(events=["*"])
    drill = make_drill()
    case = _drill_case(drill)
    case_apologise(case=case, actor=case.assignee, body=APOLOGY, override_reason="practice")
    assert WebhookDelivery.objects.count() == 0

    open_case()

    assert list(WebhookDelivery.objects.values_list("event", flat=True)) == ["case.opened"]


def test_given_a_drill_case_then_the_home_figures_count_only_real_cases():
    from bounceback.web.selectors import recovery_figures

    open_case()
    make_drill()

    figures = recovery_figures(now=timezone.now() + timedelta(minutes=1))

    assert figures["opened"] == 1
    assert figures["open_now"] == 1


def test_given_drill_cases_of_a_failure_mode_then_the_catalog_counts_only_real_occurrences():
    from bounceback.failuremodes.selectors import catalog

    drill = make_drill()
    mode = drill.playbook.failure_mode
    assert _drill_case(drill).failure_mode_id == mode.pk
    open_case(failure_mode=mode)

    entry = next(e for e in catalog(now=timezone.now() + timedelta(minutes=1)) if e.mode == mode)

    assert entry.observed.customers == 1


def test_given_a_segment_rule_any_customer_matches_then_drill_customers_are_left_out():
    from bounceback.segments.rules import customers_matching

    real = CustomerFactory()
    make_drill()

    matched = customers_matching([{"field": "lifetime_value", "op": ">=", "value": "0"}])

    assert list(matched) == [real]
    assert Customer.objects.filter(drill__isnull=False).count() == 1


def test_given_a_drill_case_then_loyalty_follows_only_real_customers():
    from bounceback.loyalty.selectors import loyalty_report

    open_case()
    make_drill()
    now = timezone.now() + timedelta(minutes=1)

    report = loyalty_report(since=now - timedelta(days=30), until=now, now=now)

    # The real customer's case is too recent to judge; the drill's is not counted at all.
    assert report.too_early == 1
    assert report.cohort("never_failed").customers == 0


def test_given_a_gesture_on_a_drill_case_then_no_balance_or_allowance_moves():
    set_policy(Role.AGENT, per_case="50", budget="100")
    drill = make_drill()
    case = _drill_case(drill)
    agent = case.assignee

    grant = grant_create(case=case, actor=agent, kind="credit", value="30", reason="practice")

    assert grant.state == Grant.State.GRANTED
    start = timezone.localdate().replace(day=1)
    assert spent_in_period(user=agent, start=start) == Decimal("0.00")
    assert all(row.spent == 0 for row in balances(by="person"))
    assert not OutboundMessage.objects.exclude(state=OutboundMessage.State.CAPTURED).exists()


def test_given_a_drill_case_then_learning_pareto_counts_only_real_cases():
    from bounceback.learning.selectors import pareto

    drill = make_drill()
    open_case(failure_mode=drill.playbook.failure_mode)

    rows = pareto(by="failure_mode", days=30, now=timezone.now() + timedelta(minutes=1))

    assert sum(r.cases for r in rows) == 1


def test_given_a_drill_then_the_dashboard_counts_only_real_customers():
    from bounceback.web.selectors import dashboard_summary

    CustomerFactory()
    make_drill()

    summary = dashboard_summary()

    assert summary.customer_count == 1
    assert summary.new_customers_this_week == 1


def test_given_a_drill_case_then_the_dashboards_count_only_real_cases():
    from bounceback.dashboards.filters import dashboard_filters

    real = open_case()
    make_drill()

    counted = Case.objects.filter(dashboard_filters().case_match())

    assert list(counted) == [real]


def test_given_drill_cases_then_spike_detection_counts_only_real_ones():
    from bounceback.discovery.spikes import series_counts

    drill = make_drill()
    open_case(failure_mode=drill.playbook.failure_mode)
    now = timezone.now()

    series = series_counts(
        since=now - timedelta(days=1),
        until=now + timedelta(hours=1),
        bucket="day",
        dimensions=["category"],
    )

    mode = next(s for s in series if s.value == drill.playbook.failure_mode.title)
    assert sum(mode.counts.values()) == 1


def test_given_a_problem_of_a_failure_mode_then_drill_cases_are_not_its_recurrences():
    from bounceback.learning.models import Problem
    from bounceback.learning.selectors import problem_cases

    drill = make_drill()
    real = open_case(failure_mode=drill.playbook.failure_mode)
    problem = Problem.objects.create(
        title="Generator fails", failure_mode=drill.playbook.failure_mode
    )

    assert list(problem_cases(problem=problem)) == [real]
