from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.breakdowns.models import AffectedCustomer, Breakdown, BreakdownAction
from bounceback.breakdowns.selectors import (
    breakdown_preview,
    breakdown_progress,
    breakdown_review_figures,
    breakdown_timeline,
)
from bounceback.breakdowns.services import (
    breakdown_action_complete,
    breakdown_all_clear,
    breakdown_cancel,
    breakdown_confirm_outreach,
    breakdown_declare,
    breakdown_exclude_customer,
    breakdown_include_customer,
    breakdown_outreach_run,
    breakdown_post_update,
    breakdown_rescope,
    breakdown_review_save,
    review_action_item_add,
)
from bounceback.cases.models import Case
from bounceback.cases.services import case_open
from bounceback.errors import Conflict, ValidationFailed
from bounceback.interactions.models import Interaction
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.breakdowns_factories import (
    make_booked_customers,
    make_breakdown,
    tonight,
)
from bounceback.testing.factories import (
    CustomerFactory,
    SiteFactory,
    TransactionFactory,
    UserFactory,
)
from bounceback.testing.playbooks_factories import make_playbook
from bounceback.timers.models import Timer
from bounceback.transactions.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead():  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.LEAD)


def _affected_ids(breakdown: Breakdown) -> set[int]:
    return set(breakdown.affected.values_list("customer_id", flat=True))


def _confirm_and_run(breakdown: Breakdown, actor) -> Breakdown:  # type: ignore[no-untyped-def]
    breakdown_confirm_outreach(breakdown=breakdown, actor=actor)
    breakdown_outreach_run(breakdown_id=breakdown.pk)
    breakdown.refresh_from_db()
    return breakdown


# --- Declaring ------------------------------------------------------------------------


def test_given_bookings_at_two_sites_when_declared_then_only_the_site_in_the_window_is_hit(lead):
    hall, other = SiteFactory(code="hall"), SiteFactory(code="other")
    start, end = tonight()
    inside = make_booked_customers(3, site=hall, at=start + timedelta(minutes=30))
    make_booked_customers(2, site=other, at=start + timedelta(minutes=30))
    make_booked_customers(1, site=hall, at=end + timedelta(hours=2))  # tomorrow's show
    make_booked_customers(1, site=hall, at=start - timedelta(minutes=1))  # before the window

    breakdown = breakdown_declare(
        actor=lead,
        playbook=make_playbook(),
        title="Power cut at the hall",
        window_start=start,
        window_end=end,
        site=hall,
    )

    assert _affected_ids(breakdown) == {c.pk for c in inside}
    assert breakdown.affected_count == 3
    assert breakdown.reference == f"BD-{breakdown.pk:05d}"
    assert breakdown.status == Breakdown.Status.DECLARED
    assert not OutboundMessage.objects.exists()


def test_given_orders_through_two_depots_when_declared_by_attribute_then_only_the_flooded_depot(
    lead,
):
    start, _ = tonight()
    flooded = make_booked_customers(
        2, site=SiteFactory(), kind=Transaction.Kind.DELIVERY, attributes={"route": "north"}
    )
    make_booked_customers(
        2, site=SiteFactory(), kind=Transaction.Kind.DELIVERY, attributes={"route": "south"}
    )
    # A north-route order that was cancelled is not hit.
    cancelled = CustomerFactory()
    TransactionFactory(
        customer=cancelled,
        kind=Transaction.Kind.DELIVERY,
        status=Transaction.Status.CANCELLED,
        scheduled_for=timezone.now(),
        attributes={"route": "north"},
    )

    breakdown = breakdown_declare(
        actor=lead,
        playbook=make_playbook(),
        title="Depot flooded",
        window_start=start,
        transaction_filter={
            "kind": ["delivery"],
            "status": ["completed", "confirmed"],
            "attributes": {"route": "north"},
        },
    )

    assert _affected_ids(breakdown) == {c.pk for c in flooded}


def test_given_a_product_when_declared_then_only_its_buyers_are_hit(lead):
    site = SiteFactory()
    start, _ = tonight()
    buyers = make_booked_customers(2, site=site, product="Gala dinner")
    make_booked_customers(2, site=site, product="Matinee")

    breakdown = breakdown_declare(
        actor=lead,
        playbook=make_playbook(),
        title="Kitchen fire",
        window_start=start,
        product="gala dinner",
    )

    assert _affected_ids(breakdown) == {c.pk for c in buyers}


def test_declare_creates_the_checklist_with_timers(lead):
    breakdown = make_breakdown(actor=lead, customers=1)

    actions = list(breakdown.actions.order_by("position"))
    assert [a.target_minutes for a in actions] == [5, 10, 30]
    for action in actions:
        timer = Timer.objects.get(subject_type="breakdown_action", subject_id=action.pk)
        assert timer.state == Timer.State.RUNNING
        assert timer.due_at == action.due_at
    assert [e.kind for e in breakdown_timeline(breakdown=breakdown)] == ["declared"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": " "}, "title"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"window_end": timezone.now() - timedelta(days=3)}, "window_end"),
        ({"transaction_filter": {"colour": ["red"]}}, "transaction_filter.colour"),
        ({"transaction_filter": {"kind": ["spaceship"]}}, "transaction_filter.kind"),
        ({"site": None}, "site"),
        ({"site": None, "customer_ids": [999_999]}, "customer_ids"),
    ],
)
def test_bad_declarations_are_refused_with_the_field(lead, changes, field):
    with pytest.raises(ValidationFailed) as caught:
        make_breakdown(actor=lead, **changes)
    assert caught.value.field == field
    assert not Breakdown.objects.exists()


def test_an_archived_playbook_cannot_be_declared(lead):
    playbook = make_playbook()
    playbook.archived = True
    playbook.save()
    with pytest.raises(ValidationFailed) as caught:
        make_breakdown(actor=lead, playbook=playbook)
    assert caught.value.field == "playbook_id"


def test_named_customers_are_affected_without_a_scope(lead):
    people = [CustomerFactory(), CustomerFactory()]
    breakdown = make_breakdown(actor=lead, site=None, customer_ids=[p.pk for p in people])
    assert _affected_ids(breakdown) == {p.pk for p in people}


def test_rescope_refinds_and_keeps_exclusions(lead):
    site, other = SiteFactory(), SiteFactory()
    breakdown = make_breakdown(actor=lead, site=site, customers=3)
    left_out = breakdown.affected.first().customer
    breakdown_exclude_customer(breakdown=breakdown, actor=lead, customer=left_out)
    extra = make_booked_customers(1, site=site)

    breakdown = breakdown_rescope(breakdown=breakdown, actor=lead, site=site)

    assert breakdown.affected_count == 4
    assert breakdown.affected.get(customer=left_out).state == AffectedCustomer.State.EXCLUDED
    assert breakdown.affected.filter(customer=extra[0]).exists()
    breakdown = breakdown_rescope(breakdown=breakdown, actor=lead, site=other)
    assert breakdown.affected_count == 0
    assert "rescoped" in [e.kind for e in breakdown_timeline(breakdown=breakdown)]


# --- Preview and outreach --------------------------------------------------------------------


def test_preview_counts_and_renders_but_sends_nothing(lead):
    site = SiteFactory(name="Grand Hall")
    make_booked_customers(2, site=site, name="Ada Lovelace")
    make_booked_customers(1, site=site, email=False)
    breakdown = make_breakdown(actor=lead, site=site)

    preview = breakdown_preview(breakdown=breakdown, sample=2)

    assert preview.total == 3
    assert preview.by_channel == {"email": 2}
    assert preview.unreachable == 1
    assert len(preview.sample) == 2
    assert "Dear Ada" in preview.preview_body
    assert "Grand Hall" in preview.preview_body
    assert "{{" not in preview.preview_body
    assert preview.preview_subject.endswith("We're sorry: Power cut at the hall")
    assert not OutboundMessage.objects.exists()
    assert not Case.objects.exists()


def test_confirm_opens_a_proactive_apologised_case_and_queues_one_message_each(lead):
    site = SiteFactory(name="Grand Hall")
    people = make_booked_customers(3, site=site, name="Ada Lovelace")
    breakdown = make_breakdown(actor=lead, site=site)

    breakdown = _confirm_and_run(breakdown, lead)

    assert breakdown.status == Breakdown.Status.RECOVERING
    cases = list(Case.objects.filter(breakdown=breakdown).order_by("id"))
    assert {c.customer_id for c in cases} == {p.pk for p in people}
    case = cases[0]
    assert case.proactive is True
    assert case.status == Case.Status.APOLOGISED
    assert case.apologised_at is not None
    assert case.reference == f"BB-{case.pk:05d}"
    assert case.summary == "Power cut at the hall"
    assert case.site == site
    assert case.severity == breakdown.severity
    assert case.failure_mode_id == breakdown.playbook_version.playbook.failure_mode_id
    assert case.transaction is not None and case.transaction.customer_id == case.customer_id
    assert [e.kind for e in case.events.order_by("id")] == ["opened", "apologised"]
    assert breakdown.reference in case.events.get(kind="apologised").summary
    # No clock of their own: the breakdown's checklist stands for the fix.
    assert not Timer.objects.filter(subject_type="case", subject_id=case.pk).exists()
    interaction = Interaction.objects.get(case=case)
    assert interaction.direction == Interaction.Direction.OUTBOUND
    assert interaction.metadata["purpose"] == "apology"
    assert case.events.get(kind="apologised").interaction == interaction
    message = OutboundMessage.objects.get(interaction=interaction)
    assert message.batch == f"bd-{breakdown.pk}-outreach"
    assert message.channel == "email"
    assert message.to_address == case.customer.primary_email
    assert message.headers == {"X-Bounceback-Case": case.reference}
    assert message.lease_owner == ""
    assert message.state == OutboundMessage.State.QUEUED
    assert message.subject == f"[{case.reference}] We're sorry: Power cut at the hall"
    assert "Dear Ada" in message.body_text
    assert case.reference in message.body_text  # {{ case.reference }} in the alternatives
    assert "Here is what happened" in message.body_text
    row = breakdown.affected.get(customer=case.customer)
    assert (row.state, row.case, row.message, row.language) == (
        AffectedCustomer.State.QUEUED,
        case,
        message,
        "en",
    )


def test_customers_with_an_open_case_are_linked_not_contacted(lead):
    site = SiteFactory()
    complainer, other = make_booked_customers(2, site=site)
    own_case = case_open(customer=complainer, summary="No power!", actor=lead, site=site)
    breakdown = make_breakdown(actor=lead, site=site)

    assert breakdown.affected.get(customer=complainer).state == AffectedCustomer.State.LINKED
    breakdown = _confirm_and_run(breakdown, lead)

    own_case.refresh_from_db()
    assert own_case.breakdown == breakdown
    assert not own_case.proactive
    assert Case.objects.filter(customer=complainer).count() == 1
    assert not OutboundMessage.objects.filter(customer=complainer).exists()
    assert OutboundMessage.objects.filter(customer=other).count() == 1
    assert own_case.events.filter(kind="linked_to_breakdown").exists()


def test_customers_without_an_address_go_on_the_call_list(lead):
    site = SiteFactory()
    make_booked_customers(1, site=site, email=False, phone="+15550123")
    sms_fan = make_booked_customers(1, site=site)[0]
    sms_fan.preferred_channel = "sms"
    sms_fan.save()
    breakdown = make_breakdown(actor=lead, site=site)

    breakdown = _confirm_and_run(breakdown, lead)

    states = dict(breakdown.affected.values_list("customer_id", "state"))
    assert states[sms_fan.pk] == AffectedCustomer.State.QUEUED  # no SMS adapter: email instead
    assert sorted(states.values()) == ["queued", "unreachable"]
    assert OutboundMessage.objects.get().channel == "email"
    progress = breakdown_progress(breakdown=breakdown)
    assert (progress.unreachable, progress.queued, progress.to_contact) == (1, 1, 1)


def test_language_follows_the_customer_locale_where_a_template_exists(lead):
    from bounceback.playbooks.services import TemplateInput
    from bounceback.testing.playbooks_factories import TEMPLATES, playbook_content

    content = playbook_content()
    content.templates.append(
        TemplateInput(
            purpose="apology",
            channel="email",
            language="fr",
            subject="Nous sommes désolés",
            body="Cher {{ customer.first_name }}, nous sommes vraiment désolés: "
            + TEMPLATES["apology"][1],
        )
    )
    site = SiteFactory()
    french = make_booked_customers(1, site=site)[0]
    french.locale = "fr-CA"
    french.save()
    breakdown = make_breakdown(actor=lead, site=site, playbook=make_playbook(content=content))

    _confirm_and_run(breakdown, lead)

    row = breakdown.affected.get(customer=french)
    assert row.language == "fr"
    assert row.message.body_text.startswith("Cher")


def test_running_the_outreach_twice_doubles_nothing(lead):
    breakdown = make_breakdown(actor=lead, customers=5)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)

    first = breakdown_outreach_run(breakdown_id=breakdown.pk, chunk=2)
    again = breakdown_outreach_run(breakdown_id=breakdown.pk, chunk=2)

    assert (first, again) == (5, 0)
    assert Case.objects.filter(breakdown=breakdown).count() == 5
    assert OutboundMessage.objects.count() == 5
    kinds = [e.kind for e in breakdown_timeline(breakdown=breakdown)]
    assert kinds.count("outreach_wave") == 3
    assert kinds.count("outreach_complete") == 1
    assert breakdown.messages.get().recipients == 5


def test_outreach_is_throttled_at_the_channel_rate(lead, settings):
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 60}
    breakdown = make_breakdown(actor=lead, customers=4)

    _confirm_and_run(breakdown, lead)

    times = sorted(OutboundMessage.objects.values_list("next_attempt_at", flat=True))
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(times)}
    assert gaps == {1.0}


def test_pause_holds_messages_and_stops_the_outreach_resume_releases_them(lead, settings):
    settings.BOUNCEBACK_OUTREACH_PER_MINUTE = {"email": 6}
    breakdown = make_breakdown(actor=lead, customers=5)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    from bounceback.breakdowns.services import (
        breakdown_pause_outreach,
        breakdown_resume_outreach,
    )

    assert breakdown_outreach_run(breakdown_id=breakdown.pk, chunk=2) == 5
    breakdown_pause_outreach(breakdown=breakdown, actor=lead)

    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {"held"}
    assert breakdown_progress(breakdown=breakdown).held == 5
    with pytest.raises(Conflict):
        breakdown_pause_outreach(breakdown=breakdown, actor=lead)

    later = timezone.now()
    breakdown_resume_outreach(breakdown=breakdown, actor=lead)

    rows = list(OutboundMessage.objects.order_by("id"))
    assert {m.state for m in rows} == {"queued"}
    assert rows[0].next_attempt_at >= later
    assert (rows[1].next_attempt_at - rows[0].next_attempt_at) == timedelta(seconds=10)
    kinds = [e.kind for e in breakdown_timeline(breakdown=breakdown)]
    assert "outreach_paused" in kinds and "outreach_resumed" in kinds


def test_a_paused_outreach_does_not_carry_on(lead):
    from bounceback.breakdowns.services import breakdown_pause_outreach

    breakdown = make_breakdown(actor=lead, customers=3)
    breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    breakdown_pause_outreach(breakdown=breakdown, actor=lead)

    assert breakdown_outreach_run(breakdown_id=breakdown.pk) == 0
    assert not Case.objects.filter(breakdown=breakdown).exists()


# --- Updates, all-clear, the checklist --------------------------------------------------------


def test_an_update_reaches_every_case_of_the_breakdown(lead):
    site = SiteFactory()
    complainer = make_booked_customers(1, site=site)[0]
    own_case = case_open(customer=complainer, summary="No power", actor=lead, site=site)
    breakdown = make_breakdown(actor=lead, site=site, customers=2)
    breakdown = _confirm_and_run(breakdown, lead)

    message = breakdown_post_update(
        breakdown=breakdown,
        actor=lead,
        subject="Update on {{ breakdown.title }}",
        body="{{ customer.first_name }}, power is coming back; quote {{ case.reference }}.",
    )

    assert message.recipients == 3
    updates = OutboundMessage.objects.filter(batch=message.batch)
    assert updates.count() == 3
    mine = updates.get(customer=complainer)
    assert mine.subject == f"[{own_case.reference}] Update on Power cut at the hall"
    assert own_case.reference in mine.body_text
    for case in Case.objects.filter(breakdown=breakdown):
        assert case.events.filter(kind="update_sent").count() == 1
        assert case.last_update_at is not None
    proactive = Case.objects.filter(breakdown=breakdown, proactive=True).first()
    assert proactive.status == Case.Status.FIXING


def test_all_clear_closes_the_checklist_and_moves_cases_to_follow_up(lead):
    breakdown = make_breakdown(actor=lead, customers=2)
    breakdown = _confirm_and_run(breakdown, lead)
    first = breakdown.actions.order_by("position").first()
    breakdown_action_complete(action=first, actor=lead, note="Confirmed")

    breakdown = breakdown_all_clear(
        breakdown=breakdown, actor=lead, body="All fixed, {{ customer.first_name }}."
    )

    assert breakdown.status == Breakdown.Status.ALL_CLEAR
    states = list(breakdown.actions.order_by("position").values_list("state", flat=True))
    assert states == ["done", "closed", "closed"]
    assert not Timer.objects.filter(
        subject_type="breakdown_action", state=Timer.State.RUNNING
    ).exists()
    for case in Case.objects.filter(breakdown=breakdown):
        assert case.status == Case.Status.FIXED
        assert case.fixed_at is not None
        assert case.fix_summary.startswith("All fixed, ")
        follow_up = Timer.objects.get(subject_type="case", subject_id=case.pk, kind="follow_up")
        assert follow_up.state == Timer.State.RUNNING
        assert follow_up.due_at == case.fixed_at + timedelta(hours=48)
        assert follow_up.warn_at == case.fixed_at + timedelta(hours=24)
        assert follow_up.next_fire_at == follow_up.warn_at
        assert Timer.objects.filter(subject_type="case", subject_id=case.pk, kind="document")
        assert case.events.filter(kind="fixed").exists()
    assert OutboundMessage.objects.filter(batch=f"bd-{breakdown.pk}-all-clear").count() == 2


def test_refused_transitions(lead):
    breakdown = make_breakdown(actor=lead, customers=1)
    with pytest.raises(Conflict):
        breakdown_post_update(breakdown=breakdown, actor=lead, body="Hello")
    with pytest.raises(Conflict):
        breakdown_all_clear(breakdown=breakdown, actor=lead, body="Done")
    with pytest.raises(Conflict):
        breakdown_review_save(breakdown=breakdown, actor=lead, went_well="", went_badly="")
    breakdown = _confirm_and_run(breakdown, lead)
    with pytest.raises(Conflict):
        breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    with pytest.raises(Conflict):
        breakdown_cancel(breakdown=breakdown, actor=lead, reason="oops")
    with pytest.raises(Conflict):
        breakdown_rescope(breakdown=breakdown, actor=lead, product="x")
    with pytest.raises(Conflict):
        breakdown_include_customer(breakdown=breakdown, actor=lead, customer=CustomerFactory())
    action = breakdown.actions.first()
    breakdown_action_complete(action=action, actor=lead)
    with pytest.raises(Conflict):
        breakdown_action_complete(action=action, actor=lead)


def test_cancel_a_false_alarm_stops_the_checklist(lead):
    breakdown = make_breakdown(actor=lead, customers=1)
    breakdown = breakdown_cancel(breakdown=breakdown, actor=lead, reason="False alarm")
    assert breakdown.status == Breakdown.Status.CANCELLED
    assert set(
        Timer.objects.filter(subject_type="breakdown_action").values_list("state", flat=True)
    ) == {"cancelled"}
    with pytest.raises(ValidationFailed):
        breakdown_cancel(breakdown=make_breakdown(actor=lead, customers=1), actor=lead, reason="")


def test_update_with_an_unknown_placeholder_is_refused(lead):
    breakdown = _confirm_and_run(make_breakdown(actor=lead, customers=1), lead)
    with pytest.raises(ValidationFailed) as caught:
        breakdown_post_update(breakdown=breakdown, actor=lead, body="Hi {{ customer.shoe_size }}")
    assert caught.value.field == "body"
    assert not OutboundMessage.objects.filter(batch__contains="update").exists()


# --- The review --------------------------------------------------------------------------------


def test_review_figures_match_what_happened(lead):
    site = SiteFactory()
    complainer = make_booked_customers(1, site=site)[0]
    case_open(customer=complainer, summary="No power", actor=lead, site=site)
    make_booked_customers(1, site=site, email=False)
    breakdown = make_breakdown(actor=lead, site=site, customers=3)
    breakdown = _confirm_and_run(breakdown, lead)
    OutboundMessage.objects.filter(batch=f"bd-{breakdown.pk}-outreach").update(
        state=OutboundMessage.State.SENT, sent_at=timezone.now()
    )
    reply_to = Case.objects.filter(breakdown=breakdown, proactive=True).first()
    from bounceback.cases.services import case_log_customer_message

    case_log_customer_message(case=reply_to, actor=None, body="Thanks for telling me")
    breakdown_post_update(breakdown=breakdown, actor=lead, body="Still working on it")
    breakdown = breakdown_all_clear(breakdown=breakdown, actor=lead, body="Fixed")

    figures = breakdown_review_figures(breakdown=breakdown)

    assert figures.affected == 5
    assert figures.reached == 3
    assert figures.unreachable == 1
    assert figures.replies == 1
    assert figures.complaints_anyway == 1
    assert figures.updates_sent == 1
    assert figures.estimated_cost == Decimal("60.00")
    assert figures.minutes_to_outreach == 0

    review = breakdown_review_save(
        breakdown=breakdown,
        actor=lead,
        went_well="Everyone heard from us within minutes",
        went_badly="The generator took an hour",
        actual_cost=Decimal("55.5"),
        complete=True,
    )
    breakdown.refresh_from_db()
    assert breakdown.status == Breakdown.Status.CLOSED
    assert review.actual_cost == Decimal("55.50")
    assert breakdown_review_figures(breakdown=breakdown).actual_cost == Decimal("55.50")
    item = review_action_item_add(
        breakdown=breakdown, actor=lead, kind="playbook_change", text="Second generator"
    )
    assert item.review == review
    kinds = [e.kind for e in breakdown_timeline(breakdown=breakdown)]
    assert kinds[0] == "declared"
    for kind in ("outreach_confirmed", "outreach_wave", "update_sent", "all_clear"):
        assert kind in kinds
    assert "review_completed" in kinds


def test_an_action_done_late_is_recorded_as_late(lead):
    breakdown = make_breakdown(actor=lead, customers=1)
    action = breakdown.actions.first()
    BreakdownAction.objects.filter(pk=action.pk).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    action.refresh_from_db()
    breakdown_action_complete(action=action, actor=lead)
    event = breakdown.events.get(kind="action_done")
    assert event.data["late"] is True
    assert event.actor == lead
