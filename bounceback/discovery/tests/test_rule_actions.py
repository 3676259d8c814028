"""Rules on new cases and customers' messages, and what rules do: a proactive contact
that really reaches the customer, an alert to a role's members, routing a case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.background.models import Job
from bounceback.background.services import job_run
from bounceback.cases.models import Case
from bounceback.cases.services import case_import, case_log_customer_message, case_open
from bounceback.discovery.models import RuleFiring, RuleInput
from bounceback.discovery.rules import rule_create, rule_preview
from bounceback.discovery.services import RULES_JOB_KEY
from bounceback.errors import ValidationFailed
from bounceback.interactions.models import Interaction
from bounceback.notifications.models import Notification
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import outbox_deliver
from bounceback.playbooks.services import playbook_archive
from bounceback.signals.services import signals_record_many
from bounceback.testing.factories import CustomerFactory, SiteFactory, TeamFactory, UserFactory
from bounceback.testing.playbooks_factories import make_playbook
from bounceback.testing.smtp import TestSmtpServer

pytestmark = pytest.mark.django_db

ANGRY_ABOUT_A_SITE = {
    "all": [
        {"field": "negativity", "op": ">=", "value": 0.8},
        {
            "any": [
                {"field": "site_mentioned", "op": "exists"},
                {"field": "site", "op": "exists"},
            ]
        },
    ]
}
ANGRY = "This is absolutely disgraceful, the Dockside Depot lost my parcel again and nobody cares"


@pytest.fixture
def smtp(settings) -> Iterator[TestSmtpServer]:  # type: ignore[no-untyped-def]
    server = TestSmtpServer().start()
    for name, value in server.settings().items():
        setattr(settings, name, value)
    yield server
    server.stop()


def _rules_job() -> None:
    assert job_run(key=RULES_JOB_KEY)


def _signal(customer_id: int, n: int, **extra: object) -> dict[str, object]:
    return {
        "source": "tracking",
        "external_id": f"L-{n}",
        "kind": "operational",
        "event": "order_late",
        "customer_id": customer_id,
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "attributes": {"days_late": 3},
        **extra,
    }


# --- Rules on customers' messages and new cases ------------------------------------------


def test_a_very_negative_message_mentioning_a_site_alerts_the_managers_once_per_window() -> None:
    SiteFactory(code="dockside", name="Dockside Depot")
    manager, other_manager = UserFactory(role=Role.MANAGER), UserFactory(role=Role.MANAGER)
    agent = UserFactory(role=Role.AGENT)
    rule_create(
        name="Angry about a site",
        conditions=ANGRY_ABOUT_A_SITE,
        action="alert_role",
        action_params={"role": "manager"},
        on_signals=False,
        on_messages=True,
        actor=None,
    )
    ann = CustomerFactory()
    case = case_open(customer=ann, summary="Parcel", actor=None)

    case_log_customer_message(case=case, actor=None, body=ANGRY, channel="email")
    case_log_customer_message(case=case, actor=None, body=ANGRY + "!", channel="email")
    case_log_customer_message(case=case, actor=None, body="Thanks, all sorted now", channel="email")
    _rules_job()

    alerts = Notification.objects.filter(kind="rule_alert")
    assert sorted(a.recipient_id for a in alerts) == sorted([manager.pk, other_manager.pk])
    assert not alerts.filter(recipient=agent).exists()
    assert alerts.first().url == f"/cases/{case.pk}/"
    assert "Dockside Depot" in alerts.first().body
    firings = RuleFiring.objects.filter(input="message")
    assert sorted(firings.values_list("outcome", flat=True)) == ["alerted", "held_back"]
    assert not RuleInput.objects.exists()  # the job worked through every mark


def test_messages_wait_for_the_job_rather_than_slowing_the_reply() -> None:
    rule_create(
        name="Angry",
        conditions={"all": [{"field": "negativity", "op": ">=", "value": 0.8}]},
        action="alert_role",
        action_params={"role": "manager"},
        on_messages=True,
        actor=None,
    )
    UserFactory(role=Role.MANAGER)
    case = case_open(customer=CustomerFactory(), summary="Parcel", actor=None)

    case_log_customer_message(case=case, actor=None, body=ANGRY, channel="email")

    assert not Notification.objects.filter(kind="rule_alert").exists()
    assert Job.objects.get(key=RULES_JOB_KEY).state == Job.State.WAITING
    _rules_job()
    assert Notification.objects.filter(kind="rule_alert").count() == 1


def test_no_rule_on_messages_means_nothing_is_marked() -> None:
    rule_create(
        name="Detractors",
        conditions={"all": [{"field": "nps", "op": "<=", "value": 6}]},
        action="open_case",
        actor=None,
    )
    case = case_open(customer=CustomerFactory(), summary="Parcel", actor=None)

    case_log_customer_message(case=case, actor=None, body=ANGRY, channel="email")

    assert not RuleInput.objects.exists()
    assert not Job.objects.filter(key=RULES_JOB_KEY).exists()


def test_open_case_on_a_new_case_raises_its_severity_and_routes_it() -> None:
    team = TeamFactory()
    rule_create(
        name="Furious new cases go to the escalations team",
        conditions={"all": [{"field": "negativity", "op": ">=", "value": 0.8}]},
        action="open_case",
        action_params={"severity": "high", "team_id": team.pk},
        on_signals=False,
        on_cases=True,
        actor=None,
    )
    furious = case_open(customer=CustomerFactory(), summary="Parcel", description=ANGRY, actor=None)
    calm = case_open(
        customer=CustomerFactory(), summary="Question", description="When do you open?", actor=None
    )

    _rules_job()

    furious.refresh_from_db()
    calm.refresh_from_db()
    assert (furious.severity, furious.team_id) == ("high", team.pk)
    assert (calm.severity, calm.team_id) == ("normal", None)
    assert Case.objects.count() == 2  # routed, not a second case for the same complaint
    firing = RuleFiring.objects.get()
    assert (firing.input, firing.outcome, firing.case_id) == ("case", "case_routed", furious.pk)


def test_imported_history_is_not_acted_on() -> None:
    UserFactory(role=Role.MANAGER)
    rule_create(
        name="All new cases",
        conditions={"all": [{"field": "input", "op": "=", "value": "case"}]},
        action="alert_role",
        action_params={"role": "manager"},
        on_cases=True,
        actor=None,
    )

    case_import(
        customer=CustomerFactory(),
        external_source="zendesk",
        external_id="Z-1",
        summary="Old complaint",
        opened_at=timezone.now() - timedelta(days=200),
        actor=None,
        closed=False,
    )
    if Job.objects.filter(key=RULES_JOB_KEY).exists():
        _rules_job()

    assert not RuleFiring.objects.exists()
    assert not Notification.objects.filter(kind="rule_alert").exists()


def test_a_rule_does_not_feed_on_the_cases_it_opens() -> None:
    rule_create(
        name="Late orders",
        conditions={"all": [{"field": "event", "op": "=", "value": "order_late"}]},
        action="open_case",
        actor=None,
    )
    rule_create(
        name="Every new case",
        conditions={"all": [{"field": "input", "op": "=", "value": "case"}]},
        action="alert_role",
        action_params={"role": "manager"},
        on_signals=False,
        on_cases=True,
        actor=None,
    )

    signals_record_many(items=[_signal(CustomerFactory().pk, 1)])

    assert Case.objects.count() == 1
    assert not RuleInput.objects.exists()


def test_the_preview_reads_cases_and_messages_too() -> None:
    SiteFactory(code="dockside", name="Dockside Depot")
    case = case_open(customer=CustomerFactory(), summary="Parcel", actor=None)
    case_log_customer_message(case=case, actor=None, body=ANGRY, channel="email")
    case_log_customer_message(case=case, actor=None, body="Thank you!", channel="email")

    preview = rule_preview(
        conditions=ANGRY_ABOUT_A_SITE,
        action="alert_role",
        action_params={"role": "manager"},
        on_signals=True,
        on_cases=True,
        on_messages=True,
    )

    assert preview.read == {"signal": 0, "case": 1, "message": 2}
    assert preview.counts == {"alerted": 1}
    assert preview.sample[0].seen.input == "message"
    assert not RuleFiring.objects.exists()


# --- Proactive contact -----------------------------------------------------------------


def _contact_rule(playbook_id: int) -> None:
    rule_create(
        name="Late orders get an apology",
        conditions={"all": [{"field": "attributes.days_late", "op": ">", "value": 2}]},
        action="proactive_contact",
        action_params={"playbook_id": playbook_id},
        actor=None,
    )


def test_a_proactive_contact_sends_the_playbooks_first_message_through_the_outbox(
    smtp: TestSmtpServer,
) -> None:
    site = SiteFactory(code="dockside", name="Dockside Depot")
    _contact_rule(make_playbook().pk)
    ann = CustomerFactory(name="Ann Lee", email="ann@example.com")

    signals_record_many(items=[_signal(ann.pk, 1, site=site.code)])

    case = Case.objects.get(customer=ann)
    assert case.proactive and case.status == Case.Status.APOLOGISED
    message = OutboundMessage.objects.get(customer=ann)
    assert message.to_address == "ann@example.com"
    assert message.channel == "email"
    assert "Dear Ann, I'm sorry" in message.body_text
    assert "Dockside Depot" in message.body_text
    assert case.reference in message.body_text and case.reference in message.subject
    assert "{{" not in message.body_text + message.subject
    apology = Interaction.objects.get(case=case, direction="outbound")
    assert apology.metadata["purpose"] == "apology"
    assert RuleFiring.objects.get().outcome == "contacted"

    outbox_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == OutboundMessage.State.SENT
    assert smtp.received.total() == 1


def test_a_customer_we_cannot_write_to_gets_a_case_to_call() -> None:
    _contact_rule(make_playbook().pk)
    bob = CustomerFactory(email=False)

    signals_record_many(items=[_signal(bob.pk, 1)])

    case = Case.objects.get(customer=bob)
    assert case.proactive and case.status == Case.Status.NEW  # the apology clock runs
    assert not OutboundMessage.objects.exists()
    firing = RuleFiring.objects.get()
    assert (firing.outcome, firing.note) == ("case_opened", "no address we can write to: call them")


def test_a_proactive_contact_needs_a_playbook_and_signals() -> None:
    with pytest.raises(ValidationFailed) as no_playbook:
        rule_create(
            name="x",
            conditions={"all": [{"field": "nps", "op": "<=", "value": 6}]},
            action="proactive_contact",
            actor=None,
        )
    with pytest.raises(ValidationFailed) as on_messages:
        rule_create(
            name="x",
            conditions={"all": [{"field": "nps", "op": "<=", "value": 6}]},
            action="proactive_contact",
            action_params={"playbook_id": make_playbook().pk},
            on_messages=True,
            actor=None,
        )

    assert no_playbook.value.field == "action_params.playbook_id"
    assert on_messages.value.field == "on_messages"


def test_a_playbook_archived_after_the_rule_was_saved_fails_the_firing_not_the_signal() -> None:
    playbook = make_playbook()
    _contact_rule(playbook.pk)
    playbook_archive(playbook=playbook, actor=None)
    ann = CustomerFactory()

    result = signals_record_many(items=[_signal(ann.pk, 1)])

    assert len(result.created_ids) == 1
    assert not Case.objects.exists()
    firing = RuleFiring.objects.get()
    assert firing.outcome == "failed" and "archived" in firing.note


# --- Alert a role ------------------------------------------------------------------------


def test_alert_a_role_notifies_its_active_members_only() -> None:
    lead, gone = UserFactory(role=Role.LEAD), UserFactory(role=Role.LEAD, is_active=False)
    manager = UserFactory(role=Role.MANAGER)
    rule_create(
        name="Late orders",
        conditions={"all": [{"field": "event", "op": "=", "value": "order_late"}]},
        action="alert_role",
        action_params={"role": "lead"},
        actor=None,
    )
    ann = CustomerFactory()

    signals_record_many(items=[_signal(ann.pk, 1, text="Where is my order?")])

    alerts = Notification.objects.filter(kind="rule_alert")
    assert list(alerts.values_list("recipient_id", flat=True)) == [lead.pk]
    assert not alerts.filter(recipient__in=[gone, manager]).exists()
    alert = alerts.get()
    assert alert.title.startswith("Rule Late orders:")
    assert alert.url == f"/customers/{ann.pk}/"
    assert alert.body == "Where is my order?"
    assert not Case.objects.exists()


def test_a_noisy_anonymous_source_raises_one_alert_per_site_per_window() -> None:
    UserFactory(role=Role.MANAGER)
    SiteFactory(code="hall", name="Grand Hall")
    SiteFactory(code="depot", name="Depot")
    rule_create(
        name="Low stars",
        conditions={"all": [{"field": "rating", "op": "<=", "value": 2}]},
        action="alert_role",
        action_params={"role": "manager"},
        actor=None,
    )
    review = {"source": "google", "kind": "review", "rating": 1, "text": "Awful"}
    at = (timezone.now() - timedelta(hours=1)).isoformat()

    signals_record_many(
        items=[
            {**review, "external_id": f"R-{n}", "site": site, "occurred_at": at}
            for n, site in enumerate(["hall"] * 30 + ["depot"] * 5)
        ]
    )
    signals_record_many(
        items=[{**review, "external_id": "R-99", "site": "hall", "occurred_at": at}]
    )

    assert Notification.objects.filter(kind="rule_alert").count() == 2
    assert RuleFiring.objects.filter(outcome="held_back").count() == 34
