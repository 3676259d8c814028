from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.breakdowns.models import Breakdown
from bounceback.breakdowns.services import breakdown_outreach_run
from bounceback.cases.models import Case
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.breakdowns_factories import make_booked_customers, make_breakdown, tonight
from bounceback.testing.factories import SiteFactory, UserFactory
from bounceback.testing.playbooks_factories import make_playbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def bd_api(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("breakdowns:write")


@pytest.fixture
def reader(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("breakdowns:read")


def _post(client, url: str, body: dict | None = None, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(url, body or {}, content_type="application/json", **headers)


def _declare_body(site_code: str, playbook_id: int) -> dict:
    start, end = tonight()
    return {
        "playbook_id": playbook_id,
        "title": "Power cut at the hall",
        "site": site_code,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
    }


def test_declare_preview_send_update_all_clear_review_through_the_api(bd_api):
    site = SiteFactory(code="hall")
    make_booked_customers(3, site=site)
    playbook = make_playbook()

    declared = _post(bd_api, "/api/breakdowns/", _declare_body("hall", playbook.pk))
    assert declared.status_code == 201, declared.content
    body = declared.json()
    assert body["reference"].startswith("BD-")
    assert body["status"] == "declared"
    assert body["affected_count"] == 3
    assert [a["target_minutes"] for a in body["checklist"]] == [5, 10, 30]
    url = f"/api/breakdowns/{body['id']}"

    preview = bd_api.get(f"{url}/preview?sample=2").json()
    assert preview["total"] == 3
    assert preview["by_channel"] == {"email": 3}
    assert len(preview["sample"]) == 2
    assert "Power cut at the hall" in preview["preview_subject"]
    assert not OutboundMessage.objects.exists()

    confirmed = _post(bd_api, f"{url}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "recovering"
    breakdown_outreach_run(breakdown_id=body["id"])  # the task's work, in-process
    progress = bd_api.get(url).json()["progress"]
    assert (progress["queued"], progress["to_contact"], progress["done"]) == (3, 3, False)

    affected = bd_api.get(f"{url}/affected?state=queued").json()
    assert len(affected["items"]) == 3
    assert all(item["case_reference"].startswith("BB-") for item in affected["items"])

    update = _post(bd_api, f"{url}/updates", {"body": "Generators arrive at nine."})
    assert update.status_code == 201
    assert update.json()["recipients"] == 3
    assert update.json()["state"] == "sent"  # a few cases: sent at once, not in chunks

    clear = _post(bd_api, f"{url}/all-clear", {"body": "Power is back."})
    assert clear.json()["status"] == "all_clear"
    assert set(Case.objects.values_list("status", flat=True)) == {"fixed"}

    review = bd_api.put(
        f"{url}/review",
        {"went_well": "Fast outreach", "went_badly": "Slow generator", "actual_cost": "40.00"},
        content_type="application/json",
    )
    assert review.status_code == 200, review.content
    figures = review.json()["figures"]
    assert figures["affected"] == 3
    assert figures["updates_sent"] == 1
    item = _post(
        bd_api, f"{url}/review/action-items", {"kind": "playbook_change", "text": "Add a generator"}
    )
    assert item.status_code == 201
    assert bd_api.get(f"{url}/review").json()["action_items"][0]["text"] == "Add a generator"
    kinds = [e["kind"] for e in bd_api.get(f"{url}/timeline").json()]
    assert kinds[0] == "declared" and "all_clear" in kinds and "update_sent" in kinds


def test_declare_errors_name_the_field(bd_api):
    playbook = make_playbook()
    SiteFactory(code="hall")
    body = _declare_body("hall", playbook.pk)

    missing_site = _post(bd_api, "/api/breakdowns/", {**body, "site": "nowhere"})
    bad_window = _post(bd_api, "/api/breakdowns/", {**body, "window_end": body["window_start"]})
    bad_filter = _post(
        bd_api, "/api/breakdowns/", {**body, "transaction_filter": {"colour": "red"}}
    )
    no_playbook = _post(bd_api, "/api/breakdowns/", {**body, "playbook_id": 999_999})

    assert (missing_site.status_code, missing_site.json()["field"]) == (404, "site")
    assert (bad_window.status_code, bad_window.json()["field"]) == (422, "window_end")
    assert (bad_filter.status_code, bad_filter.json()["field"]) == (
        422,
        "transaction_filter.colour",
    )
    assert (no_playbook.status_code, no_playbook.json()["field"]) == (404, "playbook_id")
    assert not Breakdown.objects.exists()


def test_refused_transitions_are_409(bd_api):
    breakdown = make_breakdown(customers=1)
    url = f"/api/breakdowns/{breakdown.pk}"

    assert _post(bd_api, f"{url}/updates", {"body": "Hi"}).status_code == 409
    assert _post(bd_api, f"{url}/pause").status_code == 409
    assert _post(bd_api, f"{url}/cancel", {"reason": "False alarm"}).status_code == 200
    refused = _post(bd_api, f"{url}/confirm")
    assert refused.status_code == 409
    assert "cancelled" in refused.json()["message"]
    assert bd_api.get("/api/breakdowns/999999").status_code == 404


def test_declaring_is_idempotent_with_a_key(bd_api):
    SiteFactory(code="hall")
    body = _declare_body("hall", make_playbook().pk)

    first = _post(bd_api, "/api/breakdowns/", body, HTTP_IDEMPOTENCY_KEY="outage-1")
    again = _post(bd_api, "/api/breakdowns/", body, HTTP_IDEMPOTENCY_KEY="outage-1")

    assert first.json()["id"] == again.json()["id"]
    assert Breakdown.objects.count() == 1


def test_scopes_read_cannot_write_and_no_scope_cannot_read(reader, make_token_client):
    breakdown = make_breakdown(customers=1)
    url = f"/api/breakdowns/{breakdown.pk}"

    assert reader.get(url).status_code == 200
    assert _post(reader, f"{url}/confirm").status_code == 403
    assert make_token_client("cases:write").get(url).status_code == 403


def test_staff_tick_checklist_actions_but_only_leads_declare():
    breakdown = make_breakdown(customers=1)
    action = breakdown.actions.first()
    agent = Client()
    agent.force_login(UserFactory(role=Role.AGENT))
    url = f"/api/breakdowns/{breakdown.pk}"

    ticked = _post(agent, f"{url}/actions/{action.pk}/complete", {"note": "Done on site"})
    assert ticked.status_code == 200, ticked.content
    assert ticked.json()["state"] == "done"
    assert _post(agent, f"{url}/actions/{action.pk}/complete").status_code == 409
    assert _post(agent, f"{url}/confirm").status_code == 403


def test_a_token_ticks_actions_only_with_write(reader, bd_api):
    breakdown = make_breakdown(customers=1)
    action = breakdown.actions.first()
    url = f"/api/breakdowns/{breakdown.pk}/actions/{action.pk}/complete"

    assert _post(reader, url).status_code == 403
    assert _post(bd_api, url).status_code == 200


def test_rescope_through_the_api(bd_api):
    site = SiteFactory(code="hall")
    breakdown = make_breakdown(site=site, customers=2)
    later = make_booked_customers(1, site=site, at=breakdown.window_end + timedelta(hours=1))

    wider = _post(
        bd_api,
        f"/api/breakdowns/{breakdown.pk}/scope",
        {"window_end": (breakdown.window_end + timedelta(hours=2)).isoformat()},
    )

    assert wider.status_code == 200, wider.content
    assert wider.json()["affected_count"] == 3
    assert breakdown.affected.filter(customer=later[0]).exists()


def test_list_filters_and_query_count(bd_api, django_assert_max_num_queries):
    site = SiteFactory()
    playbook = make_playbook()
    for _ in range(6):
        make_breakdown(site=site, playbook=playbook, customers=0, product="x")
    Breakdown.objects.filter(pk=Breakdown.objects.first().pk).update(status="cancelled")

    with django_assert_max_num_queries(4):
        page = bd_api.get("/api/breakdowns/?limit=4").json()
    assert len(page["items"]) == 4 and page["next_cursor"]
    rest = bd_api.get(f"/api/breakdowns/?limit=4&cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 2
    assert len(bd_api.get("/api/breakdowns/?status=cancelled").json()["items"]) == 1
    assert bd_api.get("/api/breakdowns/?status=bogus").status_code == 422


def test_affected_list_query_count(bd_api, django_assert_max_num_queries):
    breakdown = make_breakdown(customers=8)
    url = f"/api/breakdowns/{breakdown.pk}/affected"

    with django_assert_max_num_queries(4):
        page = bd_api.get(f"{url}?limit=5").json()

    assert len(page["items"]) == 5
    assert page["items"][0]["state"] == "pending"
    assert bd_api.get(f"{url}?state=bogus").status_code == 422
