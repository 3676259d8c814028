"""The breakdown pages: who may open them, each form's round trip, and refusals on the page."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.breakdowns import services
from bounceback.breakdowns.models import AffectedCustomer, Breakdown, BreakdownAction
from bounceback.cases.models import Case
from bounceback.failuremodes.models import FailureMode
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.factories import (
    CustomerFactory,
    SiteFactory,
    TransactionFactory,
    UserFactory,
)
from bounceback.testing.failuremodes_factories import TouchpointFactory
from bounceback.testing.playbooks_factories import make_playbook

pytestmark = pytest.mark.django_db

NAMES = ["Maria Gonzalez", "Ada Lovelace", "Grace Hopper", "Alan Turing"]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def lead(db: None) -> Any:
    return UserFactory(role=Role.LEAD, first_name="Morgan")


@pytest.fixture
def venue(db: None) -> Any:
    return SiteFactory(code="grand-hall", name="Grand Hall", time_zone="Europe/London")


@pytest.fixture
def tonight(db: None) -> Any:
    return timezone.now().replace(microsecond=0) + timedelta(hours=2)


@pytest.fixture
def bookings(venue: Any, tonight: Any) -> list[Any]:
    customers = []
    for index, name in enumerate(NAMES):
        customer = CustomerFactory(
            name=name, email=f"{name.split()[0].lower()}@example.com", preferred_channel="email"
        )
        TransactionFactory(
            customer=customer,
            kind="booking",
            site=venue,
            product="Evening show",
            scheduled_for=tonight + timedelta(minutes=index),
        )
        customers.append(customer)
    # Booked elsewhere: not affected.
    TransactionFactory(
        customer=CustomerFactory(name="Someone Else"),
        kind="booking",
        site=SiteFactory(code="harbour"),
        scheduled_for=tonight,
    )
    return customers


@pytest.fixture
def playbook(db: None) -> Any:
    return make_playbook(name="Power outage at an event")


def _declare(lead: Any, playbook: Any, venue: Any, tonight: Any, **extra: Any) -> Breakdown:
    return services.breakdown_declare(
        actor=lead,
        playbook=playbook,
        title="Power cut at the Grand Hall",
        site=venue,
        window_start=tonight - timedelta(hours=1),
        window_end=tonight + timedelta(hours=4),
        **extra,
    )


@pytest.fixture
def declared(lead: Any, playbook: Any, venue: Any, tonight: Any, bookings: Any) -> Breakdown:
    return _declare(lead, playbook, venue, tonight)


def _run_outreach(breakdown: Breakdown) -> None:
    services.breakdown_outreach_run(breakdown_id=breakdown.pk)


@pytest.fixture
def recovering(declared: Breakdown, lead: Any) -> Breakdown:
    breakdown = services.breakdown_confirm_outreach(breakdown=declared, actor=lead)
    _run_outreach(breakdown)
    breakdown.refresh_from_db()
    return breakdown


@pytest.fixture
def all_clear(recovering: Breakdown, lead: Any) -> Breakdown:
    return services.breakdown_all_clear(
        breakdown=recovering, actor=lead, body="It is over, {{ customer.first_name }}."
    )


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _page(client: Client, url: str) -> str:
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    return response.content.decode()


# --- Who may open what -------------------------------------------------------------------------


def test_given_an_agent_when_opening_the_pages_then_they_can_read_but_not_declare(
    agent_client: Client, recovering: Breakdown
) -> None:
    assert agent_client.get(reverse("breakdowns:list")).status_code == 200
    detail = agent_client.get(reverse("breakdowns:detail", args=[recovering.pk]))
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "Pause outreach" not in body
    assert "Post a status update" not in body
    assert agent_client.get(reverse("breakdowns:declare")).status_code == 403
    for name in ("pause", "resume", "update", "all_clear", "confirm", "cancel"):
        url = reverse(f"breakdowns:{name}", args=[recovering.pk])
        assert agent_client.post(url, {"body": "x", "reason": "x"}).status_code == 403, name


def test_given_someone_signed_out_when_opening_the_list_then_they_are_sent_to_sign_in(
    client: Client, db: None
) -> None:
    response = client.get(reverse("breakdowns:list"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_given_a_user_without_a_role_when_opening_the_list_then_it_is_refused(
    db: None,
) -> None:
    nobody = UserFactory(role=Role.AGENT)
    nobody.groups.clear()
    assert _client(nobody).get(reverse("breakdowns:list")).status_code == 403


# --- The list ----------------------------------------------------------------------------------


def test_given_active_and_past_breakdowns_when_listing_then_active_come_first_with_progress(
    lead_client: Client,
    lead: Any,
    playbook: Any,
    venue: Any,
    tonight: Any,
    bookings: Any,
    django_assert_max_num_queries: Any,
) -> None:
    past = _declare(lead, playbook, venue, tonight)
    services.breakdown_cancel(breakdown=past, actor=lead, reason="False alarm: lights came back")
    current = _declare(lead, playbook, venue, tonight)
    for _ in range(5):
        _declare(lead, playbook, venue, tonight)

    with django_assert_max_num_queries(12):
        response = lead_client.get(reverse("breakdowns:list"))

    body = response.content.decode()
    assert body.index("Active") < body.index(current.reference) < body.index("Past")
    assert body.index("Past") < body.index(past.reference)
    assert "Power outage at an event" in body
    assert "Grand Hall" in body
    assert "Not sent yet" in body


# --- Declaring ---------------------------------------------------------------------------------


def _declare_form(playbook: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "playbook": playbook.pk,
        "title": "Power cut at the Grand Hall",
        "severity": "high",
        "site": "grand-hall",
        "window_start": (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "window_end": "",
        "product": "",
        "attributes": "",
        "description": "The whole building is dark.",
    }
    data.update(overrides)
    return data


def test_given_a_lead_when_declaring_then_the_preview_shows_the_affected_and_nothing_is_sent(
    lead_client: Client, playbook: Any, bookings: Any
) -> None:
    page = lead_client.get(reverse("breakdowns:declare") + f"?playbook={playbook.pk}")
    assert page.status_code == 200
    assert f'value="{playbook.pk}" selected' in page.content.decode()

    response = lead_client.post(reverse("breakdowns:declare"), _declare_form(playbook), follow=True)

    breakdown = Breakdown.objects.get()
    assert response.redirect_chain[-1][0] == reverse("breakdowns:preview", args=[breakdown.pk])
    body = response.content.decode()
    assert "4 customers affected" in " ".join(_messages(response))
    assert "Send to 4 customers" in body
    assert "Maria Gonzalez" in body
    assert "Someone Else" not in body
    assert breakdown.description == "The whole building is dark."
    assert breakdown.actions.count() == 3
    assert not OutboundMessage.objects.exists()


def test_given_a_window_typed_on_the_sites_clock_when_declaring_then_it_is_read_in_its_zone(
    lead_client: Client, playbook: Any, venue: Any, bookings: Any
) -> None:
    lead_client.post(
        reverse("breakdowns:declare"),
        _declare_form(playbook, window_start="2030-07-01T19:30", window_end="2030-07-01T23:00"),
    )

    breakdown = Breakdown.objects.get()
    # London is an hour ahead of UTC in July.
    assert breakdown.window_start.astimezone(UTC).strftime("%H:%M") == "18:30"
    assert breakdown.window_end.astimezone(UTC).strftime("%H:%M") == "22:00"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"window_start": "tomorrow-ish"}, "Enter a valid date/time."),
        ({"attributes": "depot north"}, "Line 1 is not key=value"),
        (
            {"window_start": "2030-07-01T19:30", "window_end": "2030-07-01T18:00"},
            "The window must end after it starts.",
        ),
        ({"site": ""}, "Say who is affected"),
    ],
)
def test_given_bad_input_when_declaring_then_the_form_says_what_is_wrong(
    lead_client: Client, playbook: Any, bookings: Any, overrides: dict[str, str], message: str
) -> None:
    response = lead_client.post(reverse("breakdowns:declare"), _declare_form(playbook, **overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Breakdown.objects.exists()


def test_given_an_archived_playbook_when_declaring_then_it_cannot_be_chosen(
    lead_client: Client, playbook: Any, bookings: Any
) -> None:
    type(playbook).objects.filter(pk=playbook.pk).update(archived=True)

    response = lead_client.post(reverse("breakdowns:declare"), _declare_form(playbook))

    assert "Select a valid choice" in response.content.decode()
    assert not Breakdown.objects.exists()


# --- The preview ------------------------------------------------------------------------------


def test_given_a_declared_breakdown_when_previewing_then_counts_sample_and_first_message_show(
    lead_client: Client, declared: Breakdown
) -> None:
    body = _page(lead_client, reverse("breakdowns:preview", args=[declared.pk]))

    assert "Nothing has been sent yet" in body
    assert "Affected customers" in body
    for name in NAMES:
        assert name in body
    # The first message, with the placeholders filled for the first sample customer.
    assert "Dear Maria, I&#x27;m sorry: Power cut at the Grand Hall" in body
    assert "{{" not in body.split('id="first-message"')[1].split("</section>")[0]
    assert "Send to 4 customers" in body


def test_given_the_preview_when_a_customer_is_left_out_then_the_count_drops_and_can_be_undone(
    lead_client: Client, declared: Breakdown, bookings: list[Any]
) -> None:
    ada = bookings[1]
    response = lead_client.post(
        reverse("breakdowns:exclude", args=[declared.pk]), {"customer": ada.pk}, follow=True
    )

    assert "Ada Lovelace is left out of the outreach." in _messages(response)
    assert "Send to 3 customers" in response.content.decode()
    assert AffectedCustomer.objects.get(customer=ada).state == AffectedCustomer.State.EXCLUDED

    response = lead_client.post(
        reverse("breakdowns:include", args=[declared.pk]), {"customer": ada.pk}, follow=True
    )
    assert "Send to 4 customers" in response.content.decode()


def test_given_the_preview_when_the_scope_is_narrowed_then_the_customers_are_found_again(
    lead_client: Client, declared: Breakdown, tonight: Any
) -> None:
    page = lead_client.get(reverse("breakdowns:rescope", args=[declared.pk]))
    assert page.status_code == 200
    assert 'value="grand-hall" selected' in page.content.decode()

    zone = declared.site.time_zone
    from zoneinfo import ZoneInfo

    start = (tonight + timedelta(minutes=2)).astimezone(ZoneInfo(zone))
    response = lead_client.post(
        reverse("breakdowns:rescope", args=[declared.pk]),
        {"site": "grand-hall", "window_start": start.strftime("%Y-%m-%dT%H:%M"), "window_end": ""},
        follow=True,
    )

    assert "2 customers affected now" in " ".join(_messages(response))
    declared.refresh_from_db()
    assert declared.affected_count == 2


def test_given_the_preview_when_a_bad_scope_is_sent_then_the_form_shows_it(
    lead_client: Client, declared: Breakdown
) -> None:
    response = lead_client.post(
        reverse("breakdowns:rescope", args=[declared.pk]),
        {"site": "", "window_start": "2030-07-01T19:30"},
    )

    assert response.status_code == 200
    assert "Say who is affected" in response.content.decode()
    declared.refresh_from_db()
    assert declared.affected_count == 4


def test_given_the_preview_when_cancelled_without_a_reason_then_it_asks_for_one(
    lead_client: Client, declared: Breakdown
) -> None:
    response = lead_client.post(reverse("breakdowns:cancel", args=[declared.pk]), {"reason": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    declared.refresh_from_db()
    assert declared.status == Breakdown.Status.DECLARED


def test_given_the_preview_when_cancelled_as_a_false_alarm_then_nothing_is_sent(
    lead_client: Client, declared: Breakdown
) -> None:
    response = lead_client.post(
        reverse("breakdowns:cancel", args=[declared.pk]),
        {"reason": "The lights came back after a minute"},
        follow=True,
    )

    assert "Cancelled as a false alarm" in response.content.decode()
    declared.refresh_from_db()
    assert declared.status == Breakdown.Status.CANCELLED
    assert not OutboundMessage.objects.exists()


def test_given_the_preview_when_confirmed_then_outreach_starts_and_the_page_shows_progress(
    lead_client: Client, declared: Breakdown
) -> None:
    response = lead_client.post(reverse("breakdowns:confirm", args=[declared.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("breakdowns:detail", args=[declared.pk])
    assert "Outreach confirmed" in " ".join(_messages(response))
    declared.refresh_from_db()
    assert declared.status == Breakdown.Status.RECOVERING
    assert (
        'hx-trigger="every 2s"' in response.content.decode()
        or declared.affected.filter(state=AffectedCustomer.State.QUEUED).count() == 4
    )


def test_given_a_confirmed_breakdown_when_confirming_again_then_the_refusal_is_shown(
    lead_client: Client, recovering: Breakdown
) -> None:
    response = lead_client.post(reverse("breakdowns:confirm", args=[recovering.pk]), follow=True)

    assert response.status_code == 200
    assert any(m for m in _messages(response) if "confirm" in m.lower() or "already" in m.lower())


def test_given_a_confirmed_breakdown_when_opening_the_preview_then_it_goes_to_the_page(
    lead_client: Client, recovering: Breakdown
) -> None:
    response = lead_client.get(reverse("breakdowns:preview", args=[recovering.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("breakdowns:detail", args=[recovering.pk])


# --- The breakdown page -----------------------------------------------------------------------


def test_given_a_recovering_breakdown_when_opening_it_then_progress_checklist_and_cases_show(
    lead_client: Client, recovering: Breakdown, django_assert_max_num_queries: Any
) -> None:
    OutboundMessage.objects.filter(batch=f"bd-{recovering.pk}-outreach").update(
        state=OutboundMessage.State.SENT
    )

    with django_assert_max_num_queries(40):
        response = lead_client.get(reverse("breakdowns:detail", args=[recovering.pk]))

    body = response.content.decode()
    assert "100%" in body
    assert "Confirm what happened on site" in body
    assert "Call the contractor" in body
    assert body.count(">Done</button>") == 3
    for case in Case.objects.filter(breakdown=recovering):
        assert reverse("cases:detail", args=[case.pk]) in body
    # The update composer is prefilled from the playbook's template.
    assert "An update on {{ breakdown.title }}" in body
    assert "An update on Power cut at the Grand Hall" in body


def test_given_many_linked_cases_when_opening_the_page_then_the_queries_do_not_grow(
    lead_client: Client,
    lead: Any,
    playbook: Any,
    venue: Any,
    tonight: Any,
    bookings: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for index in range(30):
        TransactionFactory(
            customer=CustomerFactory(name=f"Guest {index}", email=f"guest{index}@example.com"),
            kind="booking",
            site=venue,
            scheduled_for=tonight,
        )
    breakdown = _declare(lead, playbook, venue, tonight)
    breakdown = services.breakdown_confirm_outreach(breakdown=breakdown, actor=lead)
    _run_outreach(breakdown)

    with django_assert_max_num_queries(40):
        response = lead_client.get(reverse("breakdowns:detail", args=[breakdown.pk]))

    assert "Page 1 of 2" in response.content.decode()


def test_given_outreach_running_when_polling_then_the_fragment_polls_until_done(
    lead_client: Client, recovering: Breakdown
) -> None:
    url = reverse("breakdowns:progress", args=[recovering.pk])
    batch = OutboundMessage.objects.filter(batch=f"bd-{recovering.pk}-outreach")

    running = lead_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in running
    assert "0%" in running

    batch.update(state=OutboundMessage.State.SENT)
    finished = lead_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "100%" in finished
    assert "hx-trigger" not in finished


def test_given_outreach_running_when_paused_and_resumed_then_the_page_says_so(
    lead_client: Client, recovering: Breakdown
) -> None:
    response = lead_client.post(reverse("breakdowns:pause", args=[recovering.pk]), follow=True)
    assert "Outreach is paused" in response.content.decode()
    assert "Resume outreach" in response.content.decode()

    response = lead_client.post(reverse("breakdowns:resume", args=[recovering.pk]), follow=True)
    assert "Outreach resumed." in _messages(response)
    recovering.refresh_from_db()
    assert not recovering.outreach_paused


def test_given_an_agent_when_ticking_an_action_then_it_is_done_with_the_note(
    agent_client: Client, recovering: Breakdown
) -> None:
    action = recovering.actions.order_by("position").first()
    assert action is not None

    response = agent_client.post(
        reverse("breakdowns:action_done", args=[recovering.pk, action.pk]),
        {"note": "Lights confirmed out in all halls"},
        follow=True,
    )

    assert f"Done: {action.title}." in _messages(response)
    action.refresh_from_db()
    assert action.state == BreakdownAction.State.DONE
    assert action.note == "Lights confirmed out in all halls"
    assert "Lights confirmed out in all halls" in response.content.decode()

    again = agent_client.post(reverse("breakdowns:action_done", args=[recovering.pk, action.pk]))
    assert again.status_code == 200
    assert 'role="alert"' in again.content.decode()


def test_given_a_lead_when_posting_an_update_then_it_is_sent_and_listed(
    lead_client: Client, recovering: Breakdown
) -> None:
    response = lead_client.post(
        reverse("breakdowns:update", args=[recovering.pk]),
        {
            "update-subject": "Update",
            "update-body": "{{ customer.first_name }}, the engineers are on site.",
        },
        follow=True,
    )

    assert "Status update sent" in " ".join(_messages(response))
    assert recovering.messages.filter(kind="status_update").count() == 1
    assert "Status update" in response.content.decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "This field is required."), ("Hi {{ customer.shoe_size }}", "Unknown placeholder")],
)
def test_given_a_bad_update_when_posting_then_the_composer_shows_why(
    lead_client: Client, recovering: Breakdown, body: str, message: str
) -> None:
    response = lead_client.post(
        reverse("breakdowns:update", args=[recovering.pk]), {"update-body": body}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not recovering.messages.filter(kind="status_update").exists()


def test_given_a_declared_breakdown_when_an_update_is_posted_then_the_conflict_is_shown(
    lead_client: Client, declared: Breakdown
) -> None:
    response = lead_client.post(
        reverse("breakdowns:update", args=[declared.pk]), {"update-body": "Any news?"}
    )

    assert response.status_code == 200
    assert 'class="alert alert--error"' in response.content.decode()


def test_given_a_lead_when_typing_a_message_then_the_preview_fills_the_placeholders(
    lead_client: Client, recovering: Breakdown
) -> None:
    response = lead_client.post(
        reverse("breakdowns:render", args=[recovering.pk]),
        {"prefix": "update", "update-body": "Hello {{ customer.first_name }} at {{ site.name }}"},
        HTTP_HX_REQUEST="true",
    )

    assert "Hello Maria at Grand Hall" in response.content.decode()


def test_given_a_lead_when_giving_the_all_clear_then_the_checklist_closes(
    lead_client: Client, recovering: Breakdown
) -> None:
    response = lead_client.post(
        reverse("breakdowns:all_clear", args=[recovering.pk]),
        {
            "all_clear-subject": "All clear",
            "all_clear-body": "Power is back, {{ customer.first_name }}.",
        },
        follow=True,
    )

    assert "All clear given" in " ".join(_messages(response))
    recovering.refresh_from_db()
    assert recovering.status == Breakdown.Status.ALL_CLEAR
    assert not recovering.actions.filter(state=BreakdownAction.State.OPEN).exists()
    assert "Write the review" in response.content.decode()


# --- The review --------------------------------------------------------------------------------


def test_given_an_all_clear_breakdown_when_opening_the_review_then_figures_and_timeline_show(
    agent_client: Client, all_clear: Breakdown
) -> None:
    body = _page(agent_client, reverse("breakdowns:review", args=[all_clear.pk]))

    assert "Affected" in body and "Reached" in body and "Complaints anyway" in body
    assert "Power cut at the Grand Hall" in body
    # Agents read the review; leads write it.
    assert "Complete the review" not in body
    assert agent_client.post(reverse("breakdowns:review", args=[all_clear.pk]), {}).status_code == (
        403
    )


def test_given_a_lead_when_saving_and_completing_the_review_then_the_breakdown_closes(
    lead_client: Client, all_clear: Breakdown
) -> None:
    url = reverse("breakdowns:review", args=[all_clear.pk])
    response = lead_client.post(
        url,
        {
            "went_well": "Everyone was told within 20 minutes.",
            "went_badly": "The generator had no fuel.",
            "actual_cost": "80.00",
            "cost_currency": "usd",
            "save": "",
        },
        follow=True,
    )
    assert "Review saved." in _messages(response)
    assert "The generator had no fuel." in response.content.decode()

    response = lead_client.post(
        url,
        {
            "went_well": "Everyone was told within 20 minutes.",
            "went_badly": "The generator had no fuel.",
            "actual_cost": "80.00",
            "cost_currency": "USD",
            "complete": "1",
        },
        follow=True,
    )

    assert "Review completed: the breakdown is closed." in _messages(response)
    all_clear.refresh_from_db()
    assert all_clear.status == Breakdown.Status.CLOSED
    assert all_clear.review.actual_cost == Decimal("80.00")


def test_given_a_negative_cost_when_saving_the_review_then_the_field_says_why(
    lead_client: Client, all_clear: Breakdown
) -> None:
    response = lead_client.post(
        reverse("breakdowns:review", args=[all_clear.pk]),
        {"went_well": "", "went_badly": "", "actual_cost": "-5"},
    )

    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()


def test_given_a_recovering_breakdown_when_the_review_is_saved_then_the_refusal_shows(
    lead_client: Client, recovering: Breakdown
) -> None:
    response = lead_client.post(
        reverse("breakdowns:review", args=[recovering.pk]),
        {"went_well": "Fast", "went_badly": "", "complete": "1"},
    )

    assert response.status_code == 200
    assert 'class="alert alert--error"' in response.content.decode()
    recovering.refresh_from_db()
    assert recovering.status == Breakdown.Status.RECOVERING


def test_given_a_review_when_an_action_item_is_added_done_and_made_a_failure_mode_then_it_shows(
    lead_client: Client, all_clear: Breakdown, playbook: Any
) -> None:
    touchpoint = TouchpointFactory(name="The show")
    url = reverse("breakdowns:item_add", args=[all_clear.pk])
    response = lead_client.post(
        url, {"kind": "failure_mode", "text": "Generator without fuel", "owner": "", "playbook": ""}
    )
    assert response.status_code == 302
    lead_client.post(
        url,
        {"kind": "playbook_change", "text": "Add a fuel check", "playbook": playbook.pk},
    )
    item, change = all_clear.review.action_items.order_by("id")

    response = lead_client.post(
        reverse("breakdowns:item_done", args=[all_clear.pk, change.pk]), {"done": "on"}
    )
    change.refresh_from_db()
    assert change.done

    response = lead_client.post(
        reverse("breakdowns:item_failure_mode", args=[all_clear.pk, item.pk]),
        {
            f"item{item.pk}-touchpoint": touchpoint.pk,
            f"item{item.pk}-title": "Backup generator has no fuel",
            f"item{item.pk}-severity": "8",
            f"item{item.pk}-occurrence": "2",
            f"item{item.pk}-detection": "7",
            f"item{item.pk}-description": "Found in the power-cut review",
        },
        follow=True,
    )

    mode = FailureMode.objects.get(title="Backup generator has no fuel")
    assert mode.status == FailureMode.Status.PROPOSED
    item.refresh_from_db()
    assert item.failure_mode == mode
    body = response.content.decode()
    assert "proposed as failure mode" in body
    assert "change the playbook Power outage at an event" in body


def test_given_a_bad_score_when_making_a_failure_mode_then_the_form_shows_it(
    lead_client: Client, all_clear: Breakdown
) -> None:
    touchpoint = TouchpointFactory(name="The show")
    item = services.review_action_item_add(
        breakdown=all_clear, actor=None, kind="failure_mode", text="Generator without fuel"
    )

    response = lead_client.post(
        reverse("breakdowns:item_failure_mode", args=[all_clear.pk, item.pk]),
        {
            f"item{item.pk}-touchpoint": touchpoint.pk,
            f"item{item.pk}-title": "Backup generator has no fuel",
            f"item{item.pk}-severity": "11",
            f"item{item.pk}-occurrence": "2",
            f"item{item.pk}-detection": "7",
        },
    )

    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 10." in response.content.decode()
    assert not FailureMode.objects.filter(title="Backup generator has no fuel").exists()
