"""Each role's home shows its tiles as charts; every figure opens the cases behind it."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape
from urllib.parse import unquote

import pytest
from django.utils import timezone

from bounceback.dashboards.tests.conftest import signed_in
from bounceback.testing.factories import SiteFactory, UserFactory
from bounceback.testing.failuremodes_factories import FailureModeFactory

pytestmark = pytest.mark.django_db


def _drill_links(html: str, tile: str) -> list[str]:
    links = [unquote(unescape(h)) for h in re.findall(r'href="(/dashboards/cases/\?[^"]+)"', html)]
    return list(dict.fromkeys(h for h in links if f"tile={tile}&" in h))


def _listed(client, url: str) -> set[str]:  # type: ignore[no-untyped-def]
    page = client.get(url).content.decode()
    return set(re.findall(r'<span class="ref">([^<]+)</span>', page))


def test_the_manager_home_draws_every_recovery_tile_with_a_text_alternative(manager) -> None:  # type: ignore[no-untyped-def]
    page = signed_in(manager).get("/").content.decode()

    for tile in (
        "on_time",
        "first_response",
        "time_to_fix",
        "satisfaction",
        "failure_modes",
        "money",
        "playbook_coverage",
        "breakdowns",
    ):
        assert f'id="tile-{tile}"' in page
    charts = page.count('<svg xmlns="http://www.w3.org/2000/svg" role=')
    assert charts >= 6  # breakdowns and failure modes: nothing to draw yet
    assert page.count("<desc id=") == charts
    assert page.count("The figures as a table") == 8


def test_a_pareto_bar_opens_exactly_the_cases_it_counts(manager, open_case) -> None:  # type: ignore[no-untyped-def]
    late = FailureModeFactory(title="Late delivery")
    rude = FailureModeFactory(title="Rude staff")
    late_refs = {open_case(failure_mode=late).reference for _ in range(3)}
    open_case(failure_mode=rude)
    open_case()
    client = signed_in(manager)

    page = client.get("/").content.decode()
    links = _drill_links(page, "failure_modes")
    late_link = next(h for h in links if f"key={late.pk}" in h)

    assert "most: Late delivery" in page
    assert _listed(client, late_link) == late_refs
    assert "3 cases behind this figure" in client.get(late_link).content.decode()


def test_an_agent_sees_their_own_overdue_and_due_soon_cases(agent, open_case) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    overdue = open_case(assignee=agent, next_due_at=now - timedelta(minutes=5))
    soon = open_case(assignee=agent, next_due_at=now + timedelta(hours=1))
    open_case(assignee=agent, next_due_at=now + timedelta(days=2))
    open_case(assignee=UserFactory(), next_due_at=now - timedelta(minutes=5))
    client = signed_in(agent)

    page = client.get("/").content.decode()
    links = _drill_links(page, "my_urgent")

    assert "1 overdue · 1 due soon" in page
    assert 'id="tile-on_time"' not in page
    assert _listed(client, next(h for h in links if "key=overdue" in h)) == {overdue.reference}
    assert _listed(client, next(h for h in links if "key=due_soon" in h)) == {soon.reference}


def test_satisfaction_points_open_the_answers_of_their_week(manager, open_case) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    happy = open_case(
        follow_up_recorded_at=now - timedelta(hours=2), satisfied=True, will_return=True
    )
    open_case(follow_up_recorded_at=now - timedelta(hours=3), satisfied=False, will_return=False)
    open_case(follow_up_recorded_at=now - timedelta(days=40), satisfied=True, will_return=False)
    client = signed_in(manager)

    page = client.get("/").content.decode()
    satisfied = [h for h in _drill_links(page, "satisfaction") if h.endswith(":satisfied")]

    assert "67% satisfied · 33% would return" in page
    assert len(satisfied) == 2  # the two weeks with answers
    assert _listed(client, satisfied[-1]) == {happy.reference}


def test_the_site_filter_narrows_every_figure(manager, open_case) -> None:  # type: ignore[no-untyped-def]
    harbour, dock = SiteFactory(code="harbour"), SiteFactory(code="dock")
    mode = FailureModeFactory(title="Cold food")
    open_case(site=harbour, failure_mode=mode)
    open_case(site=dock, failure_mode=mode)
    open_case(site=dock, failure_mode=mode)

    page = signed_in(manager).get("/?site=harbour").content.decode()

    assert "1 cases · most: Cold food" in page
    assert "site=harbour" in " ".join(_drill_links(page, "failure_modes"))


def test_filters_it_cannot_use_fall_back_and_say_so(manager) -> None:  # type: ignore[no-untyped-def]
    response = signed_in(manager).get("/?site=nowhere&until=not-a-date")

    assert response.status_code == 200
    assert "cannot be used as they are" in response.content.decode()


def test_each_tile_exports_its_table_as_csv(manager, open_case) -> None:  # type: ignore[no-untyped-def]
    open_case(failure_mode=FailureModeFactory(title="Wrong order"))

    response = signed_in(manager).get("/dashboards/tiles/failure_modes.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))

    assert response["Content-Type"].startswith("text/csv")
    assert rows[0] == ["key", "label", "Cases", "Share so far", "cases_url"]
    assert rows[1][1:4] == ["Wrong order", "1", "1.0"]
    assert "/dashboards/cases/?" in rows[1][4]


def test_an_agent_cannot_open_a_managers_tile(agent_client) -> None:  # type: ignore[no-untyped-def]
    assert agent_client.get("/dashboards/tiles/money.csv").status_code == 403
    assert agent_client.get("/dashboards/cases/?tile=money&key=all").status_code == 403
    assert agent_client.get("/dashboards/manager/").status_code == 403
    assert agent_client.get("/dashboards/agent/").status_code == 200


def test_a_lead_sees_the_teams_breaches_by_person(lead, open_case) -> None:  # type: ignore[no-untyped-def]
    ava = UserFactory(first_name="Ava", last_name="Thompson")
    breached = open_case(assignee=ava, breach_count=2)
    open_case(assignee=ava)
    client = signed_in(lead)

    page = client.get("/").content.decode()
    link = next(h for h in _drill_links(page, "team_breaches") if f"key={ava.pk}" in h)

    assert "1 open case missed a target" in page
    assert "Ava Thompson" in page
    assert _listed(client, link) == {breached.reference}


def test_a_drill_down_with_a_key_the_tile_has_not_says_so(manager) -> None:  # type: ignore[no-untyped-def]
    response = signed_in(manager).get("/dashboards/cases/?tile=time_to_fix&key=soonish")

    assert response.status_code == 400
    assert "no band" in response.content.decode()


def test_time_to_fix_counts_the_20_minute_rule(manager, open_case) -> None:  # type: ignore[no-untyped-def]
    opened = timezone.now() - timedelta(days=2)
    quick = open_case(at=opened, fixed_at=opened + timedelta(minutes=15))
    open_case(at=opened, fixed_at=opened + timedelta(hours=3))
    open_case(at=opened)
    client = signed_in(manager)

    page = client.get("/").content.decode()
    link = next(h for h in _drill_links(page, "time_to_fix") if h.endswith("key=20m"))

    assert "50% fixed within an hour · 50% within 20 minutes" in page
    assert _listed(client, link) == {quick.reference}


def test_revenue_kept_is_worked_out_in_the_background_then_shown(manager, open_case) -> None:  # type: ignore[no-untyped-def]
    from bounceback.dashboards.services import loyalty_figures_refresh
    from bounceback.funds.models import Grant

    case = open_case()
    Grant.objects.create(
        case=case,
        customer=case.customer,
        granted_by=manager,
        kind="voucher",
        value="25.00",
        reason="Cold soup",
    )
    client = signed_in(manager)

    before = client.get("/").content.decode()
    worked = loyalty_figures_refresh()
    after = client.get("/").content.decode()

    assert "USD 25.00 spent · revenue kept: soon" in before
    assert worked == 1
    assert "USD 25.00 spent · USD 0.00 kept" in after
    assert "Worked out at" in after


def test_the_tiles_refresh_in_place_every_minute(manager) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(manager)

    page = client.get("/").content.decode()
    fragment = client.get("/dashboards/manager/", HTTP_HX_REQUEST="true").content.decode()

    assert 'hx-trigger="every 60s"' in page
    assert 'id="dash-tiles"' in fragment
    assert "<html" not in fragment
