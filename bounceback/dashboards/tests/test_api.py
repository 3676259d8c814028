"""The dashboards API: tiles as the role sees them, and the cases behind each figure."""

from __future__ import annotations

import pytest

from bounceback.apitokens.services import token_create
from bounceback.testing.failuremodes_factories import FailureModeFactory
from conftest import TokenClient

pytestmark = pytest.mark.django_db


def _client(user, scopes=("dashboards:read",)) -> TokenClient:  # type: ignore[no-untyped-def]
    _, plaintext = token_create(name="bi", scopes=list(scopes), actor=user)
    return TokenClient(plaintext)


def test_a_managers_dashboard_lists_every_tile_with_links_to_its_cases(manager, open_case) -> None:  # type: ignore[no-untyped-def]
    mode = FailureModeFactory(title="Lost luggage")
    open_case(failure_mode=mode)

    body = _client(manager).get("/api/dashboards/manager").json()
    pareto = next(t for t in body["tiles"] if t["name"] == "failure_modes")

    assert [t["name"] for t in body["tiles"]][:3] == ["on_time", "first_response", "time_to_fix"]
    assert pareto["rows"][0]["label"] == "Lost luggage"
    assert pareto["rows"][0]["values"] == {"cases": 1, "cumulative": 1.0}
    assert pareto["rows"][0]["cases_api"].startswith("/api/dashboards/tiles/failure_modes/cases?")


def test_the_cases_behind_a_figure_come_a_page_at_a_time_in_constant_queries(
    manager,
    open_case,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    mode = FailureModeFactory()
    refs = {open_case(failure_mode=mode).reference for _ in range(5)}
    client = _client(manager)
    url = f"/api/dashboards/tiles/failure_modes/cases?key={mode.pk}&limit=3"

    with django_assert_max_num_queries(8):
        first = client.get(url).json()
    with django_assert_max_num_queries(8):
        second = client.get(url + f"&after={first['next_after']}").json()

    assert len(first["items"]) == 3
    assert second["next_after"] is None
    assert {c["reference"] for c in first["items"] + second["items"]} == refs


def test_an_agents_token_reads_only_the_agents_tiles(agent) -> None:  # type: ignore[no-untyped-def]
    client = _client(agent)

    assert client.get("/api/dashboards/agent").status_code == 200
    assert client.get("/api/dashboards/manager").status_code == 403
    assert client.get("/api/dashboards/tiles/money").status_code == 403
    assert client.get("/api/dashboards/tiles/nope").status_code == 404


def test_bad_filters_and_keys_are_refused_by_field(manager) -> None:  # type: ignore[no-untyped-def]
    client = _client(manager)

    site = client.get("/api/dashboards/tiles/on_time", {"site": "atlantis"})
    key = client.get("/api/dashboards/tiles/on_time/cases", {"key": "lunch"})
    period = client.get("/api/dashboards/manager", {"since": "2026-05-02", "until": "2026-05-01"})
    cursor = client.get("/api/dashboards/tiles/on_time/cases", {"key": "fix", "after": "zz"})

    assert (site.status_code, site.json()["field"]) == (422, "site")
    assert (key.status_code, key.json()["field"]) == (422, "key")
    assert (period.status_code, period.json()["field"]) == (422, "since")
    assert (cursor.status_code, cursor.json()["field"]) == (422, "after")


def test_a_token_without_the_scope_is_refused(manager) -> None:  # type: ignore[no-untyped-def]
    client = _client(manager, scopes=("cases:read",))

    assert client.get("/api/dashboards/manager").status_code == 403


def test_people_signed_in_read_their_dashboard_too(lead) -> None:  # type: ignore[no-untyped-def]
    from bounceback.dashboards.tests.conftest import signed_in

    body = signed_in(lead).get("/api/dashboards/lead").json()

    assert [t["name"] for t in body["tiles"]] == [
        "team_breaches",
        "unassigned",
        "approvals",
        "my_urgent",
    ]
