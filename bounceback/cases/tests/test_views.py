"""The case pages through the Django test client: inbox, opening, every step, the policy."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.cases.models import Case, CaseEvent, RecoveryPolicy
from bounceback.cases.services import (
    case_apologise,
    case_document,
    case_follow_up,
    case_mark_fixed,
    case_open,
    case_review,
    case_send_update,
    case_wait_on_customer,
)
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.factories import (
    CustomerFactory,
    SiteFactory,
    TeamFactory,
    TransactionFactory,
    UserFactory,
)
from bounceback.testing.failuremodes_factories import FailureModeFactory, TouchpointFactory
from bounceback.timers.models import Timer

from .conftest import SINCERE

pytestmark = pytest.mark.django_db

CLICHE = "We apologise for any inconvenience this may have caused."


def _html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def _open(customer, actor, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("summary", "Car not ready: technician called in sick")
    return case_open(customer=customer, actor=actor, **kwargs)


def _fixed(case, agent):  # type: ignore[no-untyped-def]
    case = case_apologise(case=case, actor=agent, body=SINCERE)
    return case_mark_fixed(case=case, actor=agent, fix_summary="Car repaired, courtesy car lent")


def _post(client: Client, case: Case, step: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(reverse(f"cases:{step}", args=[case.pk]), data or {})


# --- Access -------------------------------------------------------------------------------


def test_every_case_page_needs_sign_in(client: Client, open_case) -> None:  # type: ignore[no-untyped-def]
    for path in (
        "/cases/",
        "/cases/new/",
        "/cases/policy/",
        f"/cases/{open_case.pk}/",
        "/notifications/",
        "/settings/calendars/",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("login"))

    response = client.post(f"/cases/{open_case.pk}/apologise/", {"body": SINCERE})
    assert response.status_code == 302
    open_case.refresh_from_db()
    assert open_case.apologised_at is None


def test_without_the_case_permissions_every_page_is_refused(
    client: Client,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    nobody = UserFactory(role=Role.AGENT)
    nobody.groups.set([Group.objects.create(name="no rights")])
    client.force_login(nobody)

    for path in ("/cases/", "/cases/new/", f"/cases/{open_case.pk}/", "/cases/policy/"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "You don't have access to this page" in _html(response)
    assert _post(client, open_case, "apologise", {"body": SINCERE}).status_code == 403
    assert _post(client, open_case, "coach", {"body": SINCERE}).status_code == 403
    open_case.refresh_from_db()
    assert open_case.apologised_at is None


def test_the_policy_page_is_for_managers(agent_client: Client, client: Client) -> None:
    assert agent_client.get("/cases/policy/").status_code == 403
    lead = UserFactory(role=Role.LEAD)
    client.force_login(lead)
    assert client.get("/cases/policy/").status_code == 403

    client.force_login(UserFactory(role=Role.MANAGER))
    response = client.get("/cases/policy/")
    assert response.status_code == 200
    assert "Critical severity" in _html(response)


def test_cases_is_in_the_navigation_after_home(agent_client: Client) -> None:
    labels = [label for label, _, _ in agent_client.get("/cases/").context["nav_items"]]
    current = [label for label, _, now in agent_client.get("/cases/").context["nav_items"] if now]

    assert labels[:2] == ["Home", "Cases"]
    assert current == ["Cases"]


# --- The inbox ----------------------------------------------------------------------------


def test_the_inbox_shows_mine_my_team_and_all_soonest_due_first(
    client: Client,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    team = TeamFactory()
    me = UserFactory(role=Role.AGENT, team=team)
    teammate = UserFactory(role=Role.AGENT, team=team)
    stranger = UserFactory(role=Role.AGENT)
    now = timezone.now()
    later = _open(customer, me, summary="Mine, due later", assignee=me, severity="low")
    sooner = _open(customer, me, summary="Mine, due sooner", assignee=me, severity="critical")
    team_case = _open(
        customer, me, summary="Teammate's", assignee=teammate, opened_at=now - timedelta(minutes=5)
    )
    other = _open(customer, me, summary="Someone else's", assignee=stranger)
    closed = _open(customer, me, summary="Closed one", assignee=me)
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED)
    client.force_login(me)

    mine = client.get("/cases/")
    team_page = client.get("/cases/", {"scope": "team"})
    everyone = client.get("/cases/", {"scope": "all"})

    assert [c.pk for c in mine.context["cases"]] == [sooner.pk, later.pk]
    assert [c.pk for c in team_page.context["cases"]] == [sooner.pk, team_case.pk, later.pk]
    assert {c.pk for c in everyone.context["cases"]} == {
        sooner.pk,
        team_case.pk,
        later.pk,
        other.pk,
    }
    counts = {v: n for v, _, n in mine.context["scopes"]}
    assert (counts["mine"], counts["team"], counts["all"]) == (2, 3, 4)
    html = _html(mine)
    assert "Mine, due sooner" in html
    assert "Closed one" not in html
    assert 'aria-current="page">Mine' in html


def test_the_inbox_filters_by_status_severity_site_and_assignee(
    agent_client: Client,
    agent,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    downtown = SiteFactory(code="downtown")
    colleague = UserFactory(role=Role.AGENT)
    high = _open(
        customer, agent, summary="High one", severity="high", site=downtown, assignee=agent
    )
    normal = _open(customer, agent, summary="Normal one", assignee=colleague)
    apologised = case_apologise(
        case=_open(customer, agent, summary="Apologised one", assignee=agent),
        actor=agent,
        body=SINCERE,
    )

    def shown(**params: str) -> set[int]:
        response = agent_client.get("/cases/", {"scope": "all", **params})
        assert response.status_code == 200
        return {c.pk for c in response.context["cases"]}

    assert shown(severity="high") == {high.pk}
    assert shown(site="downtown") == {high.pk}
    assert shown(status="apologised") == {apologised.pk}
    assert shown(assignee=str(colleague.pk)) == {normal.pk}
    assert shown() == {high.pk, normal.pk, apologised.pk}
    filtered = agent_client.get("/cases/", {"scope": "all", "severity": "critical"})
    assert "No open case matches these filters." in _html(filtered)


def test_the_inbox_shows_the_next_step_with_a_live_countdown_and_highlights_breaches(
    agent_client: Client,
    agent,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    on_time = _open(customer, agent, summary="On time", assignee=agent)
    late = _open(
        customer,
        agent,
        summary="Late",
        assignee=agent,
        opened_at=timezone.now() - timedelta(hours=2),
    )
    Case.objects.filter(pk=late.pk).update(breach_count=1)
    waiting = case_wait_on_customer(
        case=_open(customer, agent, summary="Waiting", assignee=agent), actor=agent
    )

    response = agent_client.get("/cases/")

    html = _html(response)
    assert [c.pk for c in response.context["cases"]] == [late.pk, on_time.pk, waiting.pk]
    assert html.count('class="inbox__row inbox__row--breached"') == 1
    assert "1 missed" in html
    assert "overdue by 1h 00m" in html
    assert "countdown--over" in html
    due = Timer.objects.get(subject_id=on_time.pk).due_at
    assert f'data-due="{due.isoformat()}"' in html
    assert "paused, 1h 00m left" in html
    assert 'data-now="' in html
    assert "cases/cases.js" in html


def test_htmx_refreshes_only_the_inbox_results(agent_client: Client, open_case) -> None:  # type: ignore[no-untyped-def]
    response = agent_client.get("/cases/", {"scope": "all"}, HTTP_HX_REQUEST="true")

    html = _html(response)
    assert "<html" not in html
    assert 'id="case-results"' in html
    assert 'hx-trigger="every 60s"' in html
    assert open_case.summary in html
    assert "HX-Request" in response["Vary"]


def test_inbox_queries_do_not_grow_with_cases(
    agent_client: Client,
    agent,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    sites = [SiteFactory() for _ in range(3)]
    for i in range(30):
        case = _open(
            CustomerFactory(),
            agent,
            summary=f"Case {i}",
            assignee=agent,
            site=sites[i % 3],
            severity=["low", "normal", "high"][i % 3],
        )
        if i % 2:
            case_apologise(case=case, actor=agent, body=SINCERE)

    # Session, user, permissions, the page, their timers, their customers' leading
    # segments, every view's capped count (one query), the bell, the person's saved
    # views, the filter choices (sites, people, segments, breakdowns, failure modes)
    # and the bulk form's (people, failure modes, breakdowns): the same for 3 cases or 300.
    with django_assert_max_num_queries(18):
        response = agent_client.get("/cases/", {"scope": "all"})
    assert len(response.context["cases"]) == 30


# --- Opening a case -------------------------------------------------------------------------


def test_the_customer_page_links_to_open_a_case(agent_client: Client, customer) -> None:  # type: ignore[no-untyped-def]
    html = _html(agent_client.get(f"/customers/{customer.pk}/"))

    assert f'href="/cases/new/?customer={customer.pk}"' in html


def test_open_a_case_for_the_chosen_customer_assigned_to_me_by_default(
    agent_client: Client,
    agent,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    booking = TransactionFactory(customer=customer, product="Evening show")
    TransactionFactory(product="Someone else's order")
    site = SiteFactory(code="downtown", name="Downtown")
    power = FailureModeFactory(title="Power outage during an event")

    page = agent_client.get("/cases/new/", {"customer": customer.pk})
    form = page.context["form"]
    assert form["assignee"].value() == agent.pk
    assert [t.pk for t in form.fields["transaction"].queryset] == [booking.pk]
    assert "Chad Patterson" in _html(page)

    response = agent_client.post(
        "/cases/new/",
        {
            "customer": customer.pk,
            "summary": "Show stopped by a power cut",
            "description": "The lights went out and nobody told us anything.",
            "channel": "phone",
            "severity": "high",
            "site": "downtown",
            "transaction": booking.pk,
            "failure_mode": power.pk,
            "assignee": agent.pk,
        },
    )

    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    assert (case.customer, case.assignee, case.site, case.transaction) == (
        customer,
        agent,
        site,
        booking,
    )
    assert (case.channel, case.severity, case.failure_mode) == ("phone", "high", power)
    assert case.created_by == agent
    assert Timer.objects.get(subject_id=case.pk).kind == "apologise"
    follow = agent_client.get(response["Location"])
    assert f"Case {case.reference} opened. Apologise within 30 minutes." in _html(follow)


def test_the_customer_search_answers_htmx_with_the_results_only(agent_client: Client) -> None:
    CustomerFactory(name="Grace Hopper")
    CustomerFactory(name="Alan Turing")

    fragment = agent_client.get("/cases/new/", {"q": "grace"}, HTTP_HX_REQUEST="true")
    page = agent_client.get("/cases/new/", {"q": "nobody"})

    html = _html(fragment)
    assert "<html" not in html
    assert "Grace Hopper" in html
    assert "Alan Turing" not in html
    assert "/cases/new/?customer=" in html
    assert "No customer matches “nobody”" in _html(page)
    assert "Choose the customer first." in _html(page)


def test_opening_a_case_shows_errors_on_the_fields(
    agent_client: Client,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    elsewhere = TransactionFactory()

    response = agent_client.post(
        "/cases/new/",
        {
            "customer": customer.pk,
            "summary": "",
            "channel": "email",
            "severity": "normal",
            "transaction": elsewhere.pk,
        },
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert "summary" in form.errors
    assert "transaction" in form.errors
    assert Case.objects.count() == 0


def test_opening_a_case_turns_a_service_refusal_into_a_field_error(
    agent_client: Client,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    disabled = UserFactory(is_active=False)

    response = agent_client.post(
        "/cases/new/",
        {
            "customer": customer.pk,
            "summary": "Late parcel",
            "channel": "email",
            "severity": "normal",
            "assignee": disabled.pk,
        },
    )

    # Inactive users are not offered; a stale form posting one is refused on the field.
    assert "assignee" in response.context["form"].errors
    assert Case.objects.count() == 0


# --- The case page ----------------------------------------------------------------------------


def test_a_new_case_shows_the_stepper_with_the_apology_next(
    agent_client: Client,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    response = agent_client.get(f"/cases/{open_case.pk}/")

    html = _html(response)
    steps = {s.key: s.state for s in response.context["steps"]}
    assert steps == {
        "apologise": "next",
        "review": "blocked",
        "fix": "blocked",
        "follow_up": "blocked",
        "document": "blocked",
        "close": "blocked",
    }
    assert 'aria-current="step"' in html
    assert 'id="step-apologise" open' in html
    assert "Apology coach" in html
    assert 'hx-trigger="keyup changed delay:500ms, change"' in html
    assert f'hx-post="/cases/{open_case.pk}/coach/"' in html
    assert "Apologise first." in html
    assert "Case opened: Car not ready" in html
    assert "I came to collect my car" in html  # in the customer's words
    assert "data-due=" in html


def test_the_case_page_queries_do_not_grow_with_events_timers_and_messages(
    agent_client: Client,
    agent,
    customer,  # type: ignore[no-untyped-def]
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    case = case_apologise(case=_open(customer, agent, assignee=agent), actor=agent, body=SINCERE)
    for i in range(25):
        case = case_send_update(case=case, actor=agent, body=f"Update {i}: still on it.")
    OutboundMessage.objects.filter(pk__in=OutboundMessage.objects.values("pk")[:3]).update(
        state=OutboundMessage.State.FAILED
    )
    assert Timer.objects.for_subject("case", case.pk).count() > 25

    # Beyond the case itself: the channel the customer last used and the
    # channels we can answer on (for the reply forms), the case's received
    # email, the customer's segments, and the recovery-fund panel (the
    # effective allowance: policy, override, spend, segment tier; the grants),
    # the visit remembered and colleagues on the case, the canned replies.
    with django_assert_max_num_queries(25):
        response = agent_client.get(f"/cases/{case.pk}/")
    assert len(response.context["events"]) == 27
    assert "3 messages to Chad Patterson have not gone out." in _html(response)


def test_the_timeline_is_newest_first_with_message_bodies_and_delivery_states(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    case_apologise(case=open_case, actor=agent, body=SINCERE)

    response = agent_client.get(f"/cases/{open_case.pk}/")

    kinds = [e.kind for e in response.context["events"]]
    assert kinds == ["apologised", "opened"]
    html = _html(response)
    assert "technician called in sick and we did not phone you" in html
    assert "chip--delivery-queued" in html
    assert "Newest first" in html


# --- The apology and its coach -----------------------------------------------------------------


def test_the_coach_scores_a_draft_as_the_agent_types(agent_client: Client, open_case) -> None:  # type: ignore[no-untyped-def]
    cliche = _post(agent_client, open_case, "coach", {"body": CLICHE})
    sincere = _post(agent_client, open_case, "coach", {"body": SINCERE})
    empty = _post(agent_client, open_case, "coach", {"body": "  "})

    html = _html(cliche)
    assert "<html" not in html
    assert 'data-passed="false"' in html
    assert "Below the policy's 70" in html
    assert "“Any inconvenience” is a stock phrase" in html or "is a stock phrase" in html
    assert "Name the actual harm" in html  # the suggestion
    assert "bar__fill" in html and "Ownership" in html
    assert 'data-passed="true"' in _html(sincere)
    assert "Ready to send" in _html(sincere)
    assert "Start writing" in _html(empty)
    open_case.refresh_from_db()
    assert open_case.apologised_at is None


def test_a_cliche_apology_shows_the_findings_and_needs_an_override(
    agent_client: Client,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    response = _post(agent_client, open_case, "apologise", {"body": CLICHE, "channel": "email"})

    assert response.status_code == 200
    html = _html(response)
    form = response.context["forms"]["apologise"]
    assert "below the policy's 70" in form.errors["override_reason"][0]
    assert "is a stock phrase that names nothing" in html
    assert 'data-passed="false"' in html
    assert "Send with override" in html
    assert 'id="apology-override" class="compose__override override field' in html
    assert "field--error" in html.split('id="apology-override"')[1].split(">")[0]
    assert CLICHE in html  # the draft is kept
    open_case.refresh_from_db()
    assert open_case.apologised_at is None
    assert OutboundMessage.objects.count() == 0


def test_the_coach_panel_shows_each_sentence_and_a_rewrite_to_take(  # type: ignore[no-untyped-def]
    agent_client: Client, open_case
) -> None:
    draft = "Sorry if the car was late. Our technician was off sick, which was out of our hands."

    html = _html(_post(agent_client, open_case, "coach", {"body": draft}))

    assert "<mark>Sorry if</mark> the car was late." in html
    assert "out of our hands" in html  # the excuse's sentence, quoted
    assert "Suggested rewrite" in html
    assert "data-coach-take" in html and "Use this draft" in html
    rewrite = unescape(html.split('id="coach-rewrite-source"')[1])
    assert "I'm sorry that the car was late." in rewrite
    assert "out of our hands" not in rewrite


def test_an_apology_in_a_language_the_coach_cannot_read_goes_out_unscored(  # type: ignore[no-untyped-def]
    agent_client: Client, open_case
) -> None:
    draft = "Nous sommes désolés, votre voiture n'était pas prête. Nous vous remboursons."

    panel = _html(_post(agent_client, open_case, "coach", {"body": draft}))
    sent = _post(agent_client, open_case, "apologise", {"body": draft, "channel": "email"})

    assert "Not scored: French" in panel
    assert 'data-passed="true"' in panel
    assert sent.status_code == 302  # no override needed
    open_case.refresh_from_db()
    assert open_case.apology_score is None
    event = open_case.events.get(kind="apologised")
    assert event.summary == "Apology sent (not scored by the coach: French)"


def test_an_override_reason_sends_it_and_is_recorded(
    agent_client: Client,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    response = _post(
        agent_client,
        open_case,
        "apologise",
        {"body": CLICHE, "channel": "email", "override_reason": "Customer asked for a short note"},
    )

    assert response.status_code == 302
    open_case.refresh_from_db()
    assert open_case.apologised_at is not None
    event = open_case.events.get(kind="apologised")
    assert event.data["override_reason"] == "Customer asked for a short note"
    page = _html(agent_client.get(f"/cases/{open_case.pk}/"))
    assert "Override: Customer asked for a short note" in page


def test_a_sincere_apology_is_sent_and_the_review_and_fix_open_up(
    agent_client: Client,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    response = _post(agent_client, open_case, "apologise", {"body": SINCERE, "channel": "email"})

    assert response.status_code == 302
    page = agent_client.get(response["Location"])
    assert "Apology sent." in _html(page)
    steps = {s.key: s.state for s in page.context["steps"]}
    assert steps["apologise"] == "done"
    assert steps["review"] == "next"
    assert steps["fix"] == "open"
    message = OutboundMessage.objects.get()
    assert message.to_address == "chad@example.com"


def test_a_phone_apology_is_logged_not_sent(agent_client: Client, open_case) -> None:  # type: ignore[no-untyped-def]
    _post(agent_client, open_case, "apologise", {"body": SINCERE, "channel": "phone"})

    assert OutboundMessage.objects.count() == 0
    assert "Said, not sent" in _html(agent_client.get(f"/cases/{open_case.pk}/"))


# --- Refusals ---------------------------------------------------------------------------------


def test_a_refused_transition_shows_the_reason_in_a_banner(
    agent_client: Client,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    response = _post(
        agent_client, open_case, "fix", {"fix_summary": "Fixed it", "channel": "email"}
    )

    assert response.status_code == 200
    html = _html(response)
    assert 'class="alert alert--error" role="alert"' in html
    assert "Apologise to the customer first: the first reply must be an apology." in html
    assert 'id="step-fix" open' in html
    open_case.refresh_from_db()
    assert open_case.fixed_at is None


def test_a_refused_value_is_shown_on_its_field(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    case_apologise(case=open_case, actor=agent, body=SINCERE)

    response = _post(
        agent_client,
        open_case,
        "review",
        {"what_went_wrong": "Car not touched", "decision": "accept"},
    )

    form = response.context["forms"]["review"]
    assert "record what the customer proposes" in form.errors["proposed_fix"][0]
    assert open_case.events.filter(kind="reviewed").count() == 0


def test_required_fields_are_checked_before_the_service(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    _fixed(open_case, agent)

    response = _post(agent_client, open_case, "document", {"root_cause": "No cover"})

    form = response.context["forms"]["document"]
    assert form.errors["what_was_done"] == ["Say what was done for the customer."]
    assert form.errors["prevention_idea"] == ["Give one idea to prevent a repeat."]


# --- The rest of the sequence --------------------------------------------------------------------


def test_review_update_and_fix(agent_client: Client, agent, open_case) -> None:  # type: ignore[no-untyped-def]
    case_apologise(case=open_case, actor=agent, body=SINCERE)

    review = _post(
        agent_client,
        open_case,
        "review",
        {
            "what_went_wrong": "Car not touched, no call",
            "impact": "Took a day off work",
            "proposed_fix": "Finish it tomorrow and lend me a car",
            "decision": "accept",
            "proposal_response": "Yes, and the loan car is free",
        },
    )
    update = _post(
        agent_client, open_case, "update", {"body": "Your car is on the lift.", "channel": "email"}
    )
    fix = _post(
        agent_client,
        open_case,
        "fix",
        {"fix_summary": "Car repaired", "message": "Your car is ready.", "channel": "email"},
    )

    assert [r.status_code for r in (review, update, fix)] == [302, 302, 302]
    open_case.refresh_from_db()
    assert open_case.proposal_accepted is True
    assert open_case.status == Case.Status.FIXED
    assert OutboundMessage.objects.count() == 3
    page = agent_client.get(f"/cases/{open_case.pk}/")
    steps = {s.key: s.state for s in page.context["steps"]}
    assert steps["review"] == steps["fix"] == "done"
    assert steps["follow_up"] == "waiting"
    assert steps["document"] == "next"
    assert "Follow up after the cool-off ends at" in _html(page)
    assert "Follow up early, because…" in _html(page)


def test_follow_up_during_the_cool_off_needs_a_reason(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    _fixed(open_case, agent)
    body = {"body": "Chad, is the car running well?", "channel": "email"}

    refused = _post(agent_client, open_case, "follow_up", body)
    early = _post(
        agent_client,
        open_case,
        "follow_up",
        {**body, "early_reason": "He is travelling tomorrow"},
    )

    assert "The cool-off runs until" in _html(refused)
    assert 'role="alert"' in _html(refused)
    assert early.status_code == 302
    open_case.refresh_from_db()
    assert open_case.follow_up_sent_at is not None
    event = open_case.events.get(kind="follow_up_sent")
    assert event.data == {"early_reason": "He is travelling tomorrow"}


def test_after_the_cool_off_the_follow_up_needs_no_reason(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    _fixed(open_case, agent)
    Case.objects.filter(pk=open_case.pk).update(fixed_at=timezone.now() - timedelta(hours=25))

    page = agent_client.get(f"/cases/{open_case.pk}/")
    response = _post(
        agent_client, open_case, "follow_up", {"body": "How did we do?", "channel": "email"}
    )

    assert {s.key: s.state for s in page.context["steps"]}["follow_up"] == "next"
    assert "Follow up early" not in _html(page)
    assert response.status_code == 302


def test_record_the_answer_document_and_close(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    _fixed(open_case, agent)
    case_follow_up(case=open_case, actor=agent, body="How did we do?", early_reason="test")

    closing_too_soon = _post(agent_client, open_case, "close")
    answer = _post(
        agent_client,
        open_case,
        "outcome",
        {"satisfied": "yes", "will_return": "yes", "comment": "All good"},
    )
    documented = _post(
        agent_client,
        open_case,
        "document",
        {
            "root_cause": "No cover when a technician is off sick",
            "what_was_done": "Repaired next day, courtesy car",
            "prevention_idea": "On-call technician rota",
        },
    )
    closed = _post(agent_client, open_case, "close")

    assert "Document the case first" in _html(closing_too_soon)
    assert [r.status_code for r in (answer, documented, closed)] == [302, 302, 302]
    open_case.refresh_from_db()
    assert open_case.status == Case.Status.CLOSED
    assert (open_case.satisfied, open_case.will_return) == (True, True)
    page = agent_client.get(f"/cases/{open_case.pk}/")
    assert all(s.state == "done" for s in page.context["steps"] if s.key != "review")
    assert f"Case {open_case.reference} closed." in _html(page)
    assert "Reopen the case" in _html(page)


def test_an_unhappy_answer_reopens_the_recovery(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    _fixed(open_case, agent)
    case_follow_up(case=open_case, actor=agent, body="How did we do?", early_reason="test")

    response = _post(
        agent_client, open_case, "outcome", {"satisfied": "no", "comment": "Still broken"}
    )

    page = agent_client.get(response["Location"])
    assert "the recovery is reopened" in _html(page)
    steps = {s.key: s.state for s in page.context["steps"]}
    # Back to fixing; the review, never done, comes first again.
    assert (steps["review"], steps["fix"]) == ("next", "open")
    assert steps["follow_up"] == "blocked"


def test_close_is_disabled_with_the_reason_until_it_may_close(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    _fixed(open_case, agent)

    html = _html(agent_client.get(f"/cases/{open_case.pk}/"))

    assert "Follow up with the customer before closing." in html
    assert 'disabled aria-describedby="close-why"' in html


def test_wait_on_the_customer_then_resume(
    agent_client: Client,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    waiting = _post(agent_client, open_case, "wait", {"reason": "Asked for the booking number"})
    page = agent_client.get(f"/cases/{open_case.pk}/")
    again = _post(agent_client, open_case, "wait")
    resumed = _post(agent_client, open_case, "resume")

    assert waiting.status_code == 302
    html = _html(page)
    assert "Waiting on the customer." in html
    assert "paused, 1h 00m left" in html
    assert "Customer answered: resume" in html
    assert "is waiting on the customer; resume it first" in _html(again)
    assert resumed.status_code == 302
    open_case.refresh_from_db()
    assert open_case.status == Case.Status.NEW


def test_reopen_a_closed_case_needs_a_reason(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    _fixed(open_case, agent)
    case_follow_up(case=open_case, actor=agent, body="How did we do?", early_reason="test")
    case_document(
        case=open_case, actor=agent, root_cause="a", what_was_done="b", prevention_idea="c"
    )
    _post(agent_client, open_case, "close")

    no_reason = _post(agent_client, open_case, "reopen", {"reason": ""})
    reopened = _post(agent_client, open_case, "reopen", {"reason": "Fault came back"})

    assert "Say why the case is reopened." in _html(no_reason)
    assert reopened.status_code == 302
    open_case.refresh_from_db()
    assert open_case.status == Case.Status.FIXING


def test_reassign_the_case(agent_client: Client, open_case) -> None:  # type: ignore[no-untyped-def]
    colleague = UserFactory(role=Role.AGENT, first_name="Sam", last_name="Lee")

    response = _post(agent_client, open_case, "assign", {"assignee": colleague.pk})

    assert response.status_code == 302
    open_case.refresh_from_db()
    assert open_case.assignee == colleague
    assert "Assigned to Sam Lee." in _html(agent_client.get(response["Location"]))


# --- Outbox delivery states ----------------------------------------------------------------


def test_leads_retry_a_failed_message_agents_cannot(
    client: Client,
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    case_apologise(case=open_case, actor=agent, body=SINCERE)
    message = OutboundMessage.objects.get()
    message.state = OutboundMessage.State.FAILED
    message.attempts = 10
    message.last_error = "SMTPServerDisconnected: gone"
    message.save()
    lead = UserFactory(role=Role.LEAD)
    client.force_login(lead)
    retry_url = reverse("cases:retry", args=[open_case.pk, message.pk])

    agent_page = _html(agent_client.get(f"/cases/{open_case.pk}/"))
    lead_page = _html(client.get(f"/cases/{open_case.pk}/"))
    refused = agent_client.post(retry_url)
    retried = client.post(retry_url)

    assert "chip--delivery-failed" in agent_page
    assert "SMTPServerDisconnected: gone" in agent_page
    assert "Retry now" not in agent_page
    assert "Retry now" in lead_page
    assert refused.status_code == 403
    assert retried.status_code == 302
    message.refresh_from_db()
    assert message.state == OutboundMessage.State.QUEUED
    again = client.post(retry_url)
    assert "A queued message cannot be retried." in _html(again)


def test_a_message_of_another_case_cannot_be_retried_from_this_one(
    client: Client,
    agent,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    first = case_apologise(case=_open(customer, agent), actor=agent, body=SINCERE)
    second = _open(customer, agent)
    message = OutboundMessage.objects.get()
    client.force_login(UserFactory(role=Role.MANAGER))

    response = client.post(reverse("cases:retry", args=[second.pk, message.pk]))

    assert response.status_code == 404
    assert first.pk != second.pk


# --- The recovery policy ------------------------------------------------------------------


def test_a_manager_changes_the_policy_and_it_is_audited(client: Client) -> None:
    manager = UserFactory(role=Role.MANAGER)
    client.force_login(manager)
    page = client.get("/cases/policy/")
    form = next(f for label, s, f, p in page.context["rows"] if s == "high")
    data = {f"high-{name}": value for name, value in form.initial.items() if name in form.fields}
    data.update({"severity": "high", "high-fix_minutes": "15", "high-apology_threshold": "80"})

    response = client.post("/cases/policy/", data)

    assert response.status_code == 302
    assert response["Location"] == "/cases/policy/#policy-high"
    policy = RecoveryPolicy.objects.get(severity="high")
    assert (policy.fix_minutes, policy.apology_threshold) == (15, 80)
    audit = AuditEvent.objects.get(action="policy_changed")
    assert audit.data == {"fix_minutes": [20, 15], "apology_threshold": [70, 80]}
    assert "Targets for high cases saved." in _html(client.get(response["Location"]))


def test_a_policy_value_out_of_range_is_shown_on_its_field(client: Client) -> None:
    client.force_login(UserFactory(role=Role.MANAGER))
    page = client.get("/cases/policy/")
    form = next(f for label, s, f, p in page.context["rows"] if s == "low")
    data = {f"low-{name}": value for name, value in form.initial.items() if name in form.fields}
    data.update({"severity": "low", "low-warn_percent": "100"})

    response = client.post("/cases/policy/", data)

    assert response.status_code == 200
    bound = next(f for label, s, f, p in response.context["rows"] if s == "low")
    assert "warn_percent must be a whole number from 1 to 99" in bound.errors["warn_percent"][0]
    assert RecoveryPolicy.objects.get(severity="low").warn_percent == 75
    assert not AuditEvent.objects.filter(action="policy_changed").exists()


def test_the_case_event_kinds_shown_in_the_timeline_come_from_the_services(
    agent_client: Client,
    agent,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    case_apologise(case=open_case, actor=agent, body=SINCERE)
    case_review(
        case=open_case,
        actor=agent,
        what_went_wrong="Car not touched",
        proposed_fix="Lend me a car",
        proposal_accepted=False,
    )

    html = _html(agent_client.get(f"/cases/{open_case.pk}/"))

    assert CaseEvent.objects.filter(case=open_case).count() == 3
    assert "Review updated" in html
    assert "declined" in html  # the review's changes are listed


def test_logging_what_the_customer_said_resumes_a_waiting_case(agent_client, agent) -> None:
    from bounceback.cases.services import case_open, case_wait_on_customer
    from bounceback.testing.factories import CustomerFactory

    case = case_open(customer=CustomerFactory(), summary="Lost parcel", actor=agent, assignee=agent)
    case_wait_on_customer(case=case, actor=agent, reason="Asked for the address")

    response = agent_client.post(
        f"/cases/{case.pk}/customer-said/",
        {"channel": "phone", "body": "It went to 12 Dock Lane"},
        follow=True,
    )

    case.refresh_from_db()
    assert case.status == "new"
    assert "It went to 12 Dock Lane" in response.content.decode()
    assert "chip--inbound" in response.content.decode()


def test_an_empty_customer_message_is_refused_on_its_field(agent_client, agent) -> None:
    from bounceback.cases.services import case_open
    from bounceback.testing.factories import CustomerFactory

    case = case_open(customer=CustomerFactory(), summary="Lost parcel", actor=agent)

    response = agent_client.post(
        f"/cases/{case.pk}/customer-said/", {"channel": "phone", "body": ""}
    )

    assert "Write down what they said." in response.content.decode()
    assert not case.events.filter(kind="customer_message").exists()


# --- The failure-mode link ---------------------------------------------------------------------


def test_given_the_new_case_form_then_only_accepted_modes_are_offered_grouped_by_touchpoint(
    agent_client: Client,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    from bounceback.failuremodes.models import FailureMode

    doors = TouchpointFactory(name="Arrival and doors", position=1)
    show = TouchpointFactory(name="The show", position=2)
    FailureModeFactory(touchpoint=doors, title="Doors open late")
    FailureModeFactory(touchpoint=show, title="Sound drops out")
    proposed = FailureModeFactory(
        touchpoint=show, title="Too cold", status=FailureMode.Status.PROPOSED
    )

    page = agent_client.get("/cases/new/", {"customer": customer.pk})

    choices = page.context["form"].fields["failure_mode"].choices
    assert choices[1:] == [
        ("Arrival and doors", [(choices[1][1][0][0], "Doors open late")]),
        ("The show", [(choices[2][1][0][0], "Sound drops out")]),
    ]
    refused = agent_client.post(
        "/cases/new/",
        {
            "customer": customer.pk,
            "summary": "Freezing hall",
            "channel": "email",
            "severity": "normal",
            "failure_mode": proposed.pk,
        },
    )
    assert refused.status_code == 200
    assert refused.context["form"].errors["failure_mode"]
    assert not Case.objects.exists()


def test_given_a_case_when_staff_set_its_failure_mode_on_the_case_page_then_the_panel_shows_it(
    agent_client: Client,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    mode = FailureModeFactory(title="Technician off sick", touchpoint__name="Workshop visit")

    response = agent_client.post(
        reverse("cases:failure_mode", args=[open_case.pk]), {"failure_mode": mode.pk}
    )

    assert response.status_code == 302
    open_case.refresh_from_db()
    assert open_case.failure_mode == mode
    page = _html(agent_client.get(response["Location"]))
    assert "Failure mode set: Technician off sick." in page
    assert "Workshop visit" in page
    assert CaseEvent.objects.filter(case=open_case, kind="updated").exists()

    cleared = agent_client.post(
        reverse("cases:failure_mode", args=[open_case.pk]), {"failure_mode": ""}
    )
    assert cleared.status_code == 302
    open_case.refresh_from_db()
    assert open_case.failure_mode is None


def test_given_a_retired_mode_when_posted_to_the_case_page_then_it_is_refused_on_the_field(
    agent_client: Client,
    open_case,  # type: ignore[no-untyped-def]
) -> None:
    from bounceback.failuremodes.models import FailureMode

    retired = FailureModeFactory(status=FailureMode.Status.RETIRED)

    response = agent_client.post(
        reverse("cases:failure_mode", args=[open_case.pk]), {"failure_mode": retired.pk}
    )

    assert response.status_code == 200
    assert response.context["forms"]["failure_mode"].errors["failure_mode"]
    open_case.refresh_from_db()
    assert open_case.failure_mode is None
