"""The inbox at scale: next due time kept on the case, keyset pages, views, capped counts."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from bounceback.cases import inbox
from bounceback.cases.inbox import InboxQuery, cases_inbox_page
from bounceback.cases.models import Case
from bounceback.cases.services import (
    case_apologise,
    case_open,
    case_resume,
    case_wait_on_customer,
)
from bounceback.errors import ValidationFailed
from bounceback.segments.models import Segment, SegmentMembership
from bounceback.testing.factories import CustomerFactory, SiteFactory, UserFactory
from bounceback.timers.models import Timer

from .conftest import SINCERE


def _open(customer, actor, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("summary", "Car not ready: technician called in sick")
    return case_open(customer=customer, actor=actor, **kwargs)


def _due(case: Case) -> object:
    return Case.objects.values_list("next_due_at", flat=True).get(pk=case.pk)


def _earliest_unmet(case: Case) -> object:
    rows = Timer.objects.filter(
        subject_type="case",
        subject_id=case.pk,
        met_at__isnull=True,
        state__in=[Timer.State.RUNNING, Timer.State.BREACHED],
    ).order_by("due_at")
    return rows.values_list("due_at", flat=True).first()


# --- next_due_at follows the timers --------------------------------------------------------


def test_the_case_keeps_its_next_due_time_through_every_step(agent, customer) -> None:  # type: ignore[no-untyped-def]
    # Given a new case: its apology is due
    case = _open(customer, agent, assignee=agent)
    assert _due(case) is not None
    assert _due(case) == _earliest_unmet(case)

    # When it waits on the customer, nothing is due; when they answer, it is again
    case_wait_on_customer(case=case, actor=agent)
    assert _due(case) is None
    case_resume(case=Case.objects.get(pk=case.pk), actor=agent)
    assert _due(case) == _earliest_unmet(case) is not None

    # When the apology is sent, the next step's target takes its place
    before = _due(case)
    case_apologise(case=Case.objects.get(pk=case.pk), actor=agent, body=SINCERE)
    assert _due(case) == _earliest_unmet(case)
    assert _due(case) != before


def test_the_migration_backfill_and_the_services_agree(agent, customer) -> None:  # type: ignore[no-untyped-def]
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    migration = import_module("bounceback.cases.migrations.0007_case_next_due_at")
    cases = [_open(customer, agent, assignee=agent) for _ in range(3)]
    case_wait_on_customer(case=cases[1], actor=agent)
    kept = {c.pk: _due(c) for c in cases}
    Case.objects.update(next_due_at=None)

    # The migration only uses the editor's connection (SQLite cannot open a
    # schema editor inside the test's transaction).
    migration.backfill_next_due(apps, SimpleNamespace(connection=connection))

    assert {c.pk: _due(c) for c in cases} == kept


# --- Keyset pages ------------------------------------------------------------------------------


def test_pages_walk_every_open_case_once_timed_first_then_untimed(agent, customer) -> None:  # type: ignore[no-untyped-def]
    # Given seven open cases, two of them waiting (no running timer)
    cases = [_open(customer, agent, assignee=agent, summary=f"Case {i}") for i in range(7)]
    for case in cases[:2]:
        case_wait_on_customer(case=case, actor=agent)
    query = InboxQuery(view="all")

    # When the inbox is read three at a time
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = cases_inbox_page(user=agent, query=query, after=after, limit=3, counts=False)
        seen += [c.pk for c in page.cases]
        pages += 1
        after = page.next_after
        if after is None:
            break

    # Then each case appears once, the waiting ones last, in three pages
    assert sorted(seen) == sorted(c.pk for c in cases)
    assert len(seen) == len(set(seen))
    assert set(seen[-2:]) == {cases[0].pk, cases[1].pk}
    assert pages == 3


def test_every_order_pages_without_gaps_or_repeats(agent, customer) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    cases = [
        _open(customer, agent, assignee=agent, opened_at=now - timedelta(minutes=i))
        for i in range(5)
    ]
    for sort in inbox.SORTS:
        query = InboxQuery(view="all", sort=sort)
        whole = [c.pk for c in cases_inbox_page(user=agent, query=query, counts=False).cases]
        first = cases_inbox_page(user=agent, query=query, limit=2, counts=False)
        rest = cases_inbox_page(user=agent, query=query, after=first.next_after, counts=False)
        assert [c.pk for c in first.cases + rest.cases] == whole, sort
        assert sorted(whole) == sorted(c.pk for c in cases)


def test_a_cursor_the_inbox_did_not_hand_out_is_refused_by_name(agent) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        cases_inbox_page(user=agent, query=InboxQuery(view="all"), after="not-a-cursor")
    assert refused.value.field == "after"


def test_the_page_follows_the_cursor_and_a_bad_one_starts_over(
    agent_client: Client,
    agent,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    for i in range(3):
        _open(customer, agent, assignee=agent, summary=f"Case {i}")
    first = cases_inbox_page(user=agent, query=InboxQuery(), limit=2, counts=False)

    shown = agent_client.get("/cases/", {"after": first.next_after})
    broken = agent_client.get("/cases/", {"after": "garbage"})

    assert shown.status_code == 200
    assert len(shown.context["cases"]) == 1
    assert "First page" in unescape(shown.content.decode())
    assert broken.status_code == 200
    assert len(broken.context["cases"]) == 3


def test_deep_pages_take_as_many_queries_as_the_first(
    agent_client: Client,
    agent,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for i in range(12):
        _open(CustomerFactory(), agent, assignee=agent, summary=f"Case {i}")
    query = InboxQuery(view="all")
    first = cases_inbox_page(user=agent, query=query, limit=5, counts=False)

    # Page, its timers, its customers' segments, every view's count: four queries
    # wherever the page is.
    with django_assert_num_queries(4):
        cases_inbox_page(user=agent, query=query, limit=5)
    with django_assert_num_queries(4):
        cases_inbox_page(user=agent, query=query, after=first.next_after, limit=5)


# --- VIP first ----------------------------------------------------------------------------------


@pytest.fixture
def segmented(agent):  # type: ignore[no-untyped-def]
    """Two VIP cases, one regular's, two of customers in no segment, opened in mixed order."""
    vip = Segment.objects.create(name="VIP", slug="vip", priority=1)
    regular = Segment.objects.create(name="Regulars", slug="regulars", priority=50)
    retired = Segment.objects.create(name="Old VIP", slug="old-vip", priority=0, active=False)

    def customer_in(*segments: Segment):  # type: ignore[no-untyped-def]
        person = CustomerFactory()
        for segment in segments:
            SegmentMembership.objects.create(segment=segment, customer=person, since=timezone.now())
        return person

    opened = {
        "plain_1": _open(customer_in(), agent, summary="plain 1"),
        "regular": _open(customer_in(regular, retired), agent, summary="regular"),
        "vip_1": _open(customer_in(vip, regular), agent, summary="vip 1"),
        "plain_2": _open(customer_in(), agent, summary="plain 2"),
        "vip_2": _open(customer_in(vip), agent, summary="vip 2"),
    }
    return SimpleNamespace(**{k: v.pk for k, v in opened.items()})


def _walk(agent, query: InboxQuery, limit: int) -> list[int]:  # type: ignore[no-untyped-def]
    seen: list[int] = []
    after = None
    while True:
        page = cases_inbox_page(user=agent, query=query, after=after, limit=limit, counts=False)
        seen += [c.pk for c in page.cases]
        after = page.next_after
        if after is None:
            return seen


def test_vip_first_orders_by_leading_segment_and_pages_without_gaps(agent, segmented) -> None:  # type: ignore[no-untyped-def]
    # Given VIP, regular and unsegmented customers' cases (a retired segment counts for nothing)
    # When the whole inbox is read VIP first, two cases a page
    seen = _walk(agent, InboxQuery(view="all", sort="segment"), limit=2)

    # Then the VIPs come first, then the regular, then everyone else, each once
    s = segmented
    assert seen == [s.vip_1, s.vip_2, s.regular, s.plain_1, s.plain_2]
    assert seen == _walk(agent, InboxQuery(view="all", sort="segment"), limit=50)


def test_the_segment_view_holds_segment_customers_vip_first(
    agent_client: Client,
    agent,
    segmented,  # type: ignore[no-untyped-def]
) -> None:
    # Given the segment view opened from its tab (no order in the address)
    query = InboxQuery.from_params({"view": "segment"})
    response = agent_client.get("/cases/", {"view": "segment"})
    html = unescape(response.content.decode())

    # Then it holds only customers in an active segment, VIP first, and says so
    s = segmented
    assert query.sort == "segment" and query.to_params() == {"view": "segment"}
    assert _walk(agent, query, limit=1) == [s.vip_1, s.vip_2, s.regular]
    assert [c.pk for c in response.context["cases"]] == [s.vip_1, s.vip_2, s.regular]
    assert 'By segment (VIP first) <span class="tabs__count">3</span>' in html
    assert '<th scope="col" aria-sort="ascending"><a href="?view=segment&sort=segment"' in html
    assert ">VIP</a>" in html and ">Regulars</a>" in html
    # And choosing another order in that view is kept in the address
    due = InboxQuery.from_params({"view": "segment", "sort": "due"})
    assert due.to_params() == {"view": "segment", "sort": "due"}


def test_vip_first_pages_cost_a_query_per_segment_priority_crossed_never_more(
    agent,
    segmented,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    query = InboxQuery(view="all", sort="segment")
    first = cases_inbox_page(user=agent, query=query, limit=2, counts=False)
    second = cases_inbox_page(user=agent, query=query, after=first.next_after, limit=2)

    # Timers, segments and counts, plus the priorities in use and one query per
    # priority the page crosses (VIP, then regulars) ...
    with django_assert_num_queries(3 + 3):
        cases_inbox_page(user=agent, query=query, limit=2)
    # ... and the customers in no segment when the page reaches them
    with django_assert_num_queries(3 + 4):
        cases_inbox_page(user=agent, query=query, after=first.next_after, limit=2)
    # A page deep in those reads them alone, whatever the number of cases before it
    with django_assert_num_queries(3 + 1):
        cases_inbox_page(user=agent, query=query, after=second.next_after, limit=2)
    # The segment view holds members only: no query for the others
    with django_assert_num_queries(3 + 3):
        cases_inbox_page(user=agent, query=InboxQuery(view="segment", sort="segment"), limit=2)


def test_a_cursor_from_another_order_is_refused_in_vip_first(agent, segmented) -> None:  # type: ignore[no-untyped-def]
    newest = cases_inbox_page(user=agent, query=InboxQuery(view="all", sort="newest"), limit=1)
    with pytest.raises(ValidationFailed) as refused:
        cases_inbox_page(
            user=agent, query=InboxQuery(view="all", sort="segment"), after=newest.next_after
        )
    assert refused.value.field == "after"


# --- Views and counts -------------------------------------------------------------------------


def test_each_view_holds_its_cases(agent, customer) -> None:  # type: ignore[no-untyped-def]
    someone = UserFactory()
    mine = _open(customer, agent, assignee=agent, summary="Mine")
    nobody = _open(customer, agent, summary="Nobody's")
    theirs = _open(customer, agent, assignee=someone, summary="Theirs")
    Case.objects.filter(pk=theirs.pk).update(breach_count=2)
    waiting = case_wait_on_customer(
        case=_open(customer, agent, assignee=agent, summary="Waiting"), actor=agent
    )
    soon = _open(customer, agent, assignee=someone, summary="Due soon", severity="critical")
    Case.objects.filter(pk=soon.pk).update(next_due_at=timezone.now() + timedelta(minutes=10))
    Case.objects.exclude(pk=soon.pk).filter(next_due_at__isnull=False).update(
        next_due_at=timezone.now() + timedelta(hours=5)
    )

    def held(view: str) -> set[int]:
        page = cases_inbox_page(user=agent, query=InboxQuery(view=view), counts=False)
        return {c.pk for c in page.cases}

    assert held("mine") == {mine.pk, waiting.pk}
    assert held("unassigned") == {nobody.pk}
    assert held("breached") == {theirs.pk}
    assert held("waiting") == {waiting.pk}
    assert held("due_soon") == {soon.pk}
    assert held("all") == {mine.pk, nobody.pk, theirs.pk, waiting.pk, soon.pk}


def test_filters_by_segment_breakdown_channel_failure_mode_and_site(agent) -> None:  # type: ignore[no-untyped-def]
    from bounceback.testing.failuremodes_factories import FailureModeFactory

    vip = Segment.objects.create(name="VIP", slug="vip", priority=1)
    big = CustomerFactory(name="Big Spender")
    SegmentMembership.objects.create(segment=vip, customer=big, since=timezone.now())
    site = SiteFactory(code="north")
    mode = FailureModeFactory()
    vip_case = _open(big, agent, summary="VIP case")
    sms_case = _open(CustomerFactory(), agent, summary="By SMS", channel="sms", site=site)
    moded = _open(CustomerFactory(), agent, summary="Moded", failure_mode=mode)

    def held(**filters: str) -> set[int]:
        page = cases_inbox_page(user=agent, query=InboxQuery(view="all", **filters), counts=False)
        return {c.pk for c in page.cases}

    assert held(segment="vip") == {vip_case.pk}
    assert held(channel="sms") == {sms_case.pk}
    assert held(site="north") == {sms_case.pk}
    assert held(failure_mode=str(mode.pk)) == {moded.pk}
    assert held(breakdown="BD-NONE") == set()


def test_counts_stop_at_the_cap_and_read_as_more(
    agent_client: Client,
    agent,
    customer,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    monkeypatch.setattr("bounceback.cases.views.COUNT_CAP", 2)
    for _ in range(4):
        _open(customer, agent, assignee=agent)

    counts = inbox.cases_inbox_counts_capped(user=agent, query=InboxQuery())
    html = unescape(agent_client.get("/cases/").content.decode())

    assert counts["mine"] == 3  # counted up to the cap and one more, never all four
    assert counts["unassigned"] == 0
    assert '<span class="tabs__count">2+</span>' in html


def test_the_view_lives_in_the_address_and_bad_values_fall_back(agent_client: Client) -> None:  # type: ignore[no-untyped-def]
    query = InboxQuery.from_params({"view": "breached", "channel": "sms", "sort": "nonsense"})
    old = InboxQuery.from_params({"scope": "team"})

    assert query.to_params() == {"view": "breached", "channel": "sms"}
    assert old.view == "team"
    assert InboxQuery.from_params({"assignee": "x"}).assignee == ""
    response = agent_client.get("/cases/", {"view": "waiting", "severity": "high"})
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert 'aria-current="page">Waiting on customer' in html
    assert '<option value="high" selected>' in html
