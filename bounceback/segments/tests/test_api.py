"""The segments API: CRUD with field errors, members, recompute, a customer's approach."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bounceback.accounts.roles import Role
from bounceback.segments.models import Segment
from bounceback.segments.services import segment_memberships_recompute
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.testing.segments_factories import SegmentFactory

pytestmark = pytest.mark.django_db

VIP = [{"field": "tag", "op": "has", "value": "vip"}]


@pytest.fixture
def writer(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("segments:read", "segments:write")


@pytest.fixture
def reader(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("segments:read")


def test_given_rules_when_creating_then_the_segment_and_members_exist(writer) -> None:
    CustomerFactory(tags=["vip"])

    response = writer.post(
        "/api/segments/",
        {
            "name": "VIP",
            "slug": "vip",
            "rules": VIP,
            "timer_percent": 50,
            "minimum_severity": "high",
            "compensation_tier": "250.00",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slug"], body["member_count"], body["timer_percent"]) == ("vip", 1, 50)
    assert body["compensation_tier"] == "250.00"


def test_given_a_bad_rule_when_creating_then_422_names_the_rule(writer) -> None:
    response = writer.post(
        "/api/segments/",
        {"name": "X", "rules": [*VIP, {"field": "lifetime_value", "op": ">=", "value": "x"}]},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["field"] == "rules[1].value"
    assert response.json()["message"] == "rules[1].value must be a number"
    assert not Segment.objects.exists()


def test_given_a_reader_when_creating_then_403(reader) -> None:
    response = reader.post(
        "/api/segments/", {"name": "X", "rules": VIP}, content_type="application/json"
    )
    assert response.status_code == 403


def test_given_a_taken_slug_when_creating_then_409(writer) -> None:
    SegmentFactory(slug="vip")
    response = writer.post(
        "/api/segments/",
        {"name": "X", "slug": "vip", "rules": VIP},
        content_type="application/json",
    )
    assert response.status_code == 409


def test_given_segments_when_listing_then_pages_in_priority_order_in_constant_queries(
    reader, django_assert_max_num_queries
) -> None:
    for priority in (30, 10, 20):
        SegmentFactory(priority=priority)

    with django_assert_max_num_queries(4):
        first = reader.get("/api/segments/?limit=2").json()
    second = reader.get(f"/api/segments/?limit=2&cursor={first['next_cursor']}").json()

    assert [s["priority"] for s in first["items"] + second["items"]] == [10, 20, 30]
    assert second["next_cursor"] is None


def test_given_members_when_paging_then_every_member_comes_once_in_constant_queries(
    reader, django_assert_max_num_queries
) -> None:
    segment = SegmentFactory(rules=VIP)
    CustomerFactory.create_batch(5, tags=["vip"], email=False)
    segment_memberships_recompute()

    with django_assert_max_num_queries(5):
        first = reader.get(f"/api/segments/{segment.pk}/members?limit=3").json()
    second = reader.get(
        f"/api/segments/{segment.pk}/members?limit=3&cursor={first['next_cursor']}"
    ).json()

    ids = [m["customer_id"] for m in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 5


def test_given_a_patch_when_updating_then_members_follow(writer) -> None:
    segment = SegmentFactory(rules=VIP)
    CustomerFactory(tags=["vip"])
    CustomerFactory(lifetime_value=Decimal("9000"))
    segment_memberships_recompute()

    response = writer.patch(
        f"/api/segments/{segment.pk}",
        {"rules": [{"field": "lifetime_value", "op": ">=", "value": 1000}], "guidance": "Quick"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["member_count"] == 1
    assert response.json()["rules"][0]["value"] == "1000.00"


def test_given_an_agent_session_when_patching_then_403(client) -> None:
    client.force_login(UserFactory(role=Role.AGENT))
    segment = SegmentFactory()
    response = client.patch(
        f"/api/segments/{segment.pk}", {"guidance": "x"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_given_new_data_when_recomputing_then_counts_come_back(writer) -> None:
    segment = SegmentFactory(rules=VIP)
    CustomerFactory(tags=["vip"])

    response = writer.post(
        "/api/segments/recompute", {"segment_id": segment.pk}, content_type="application/json"
    )

    assert response.json() == {"segments": 1, "joined": 1, "left": 0}


def test_given_rules_when_previewing_then_the_count_comes_back(reader) -> None:
    CustomerFactory(tags=["vip"])
    response = reader.post("/api/segments/preview", {"rules": VIP}, content_type="application/json")
    assert response.json() == {"matching": 1}


def test_given_a_member_when_asking_the_approach_then_it_is_combined(reader) -> None:
    SegmentFactory(slug="vip", rules=VIP, timer_percent=60, guidance="Personal call")
    customer = CustomerFactory(tags=["vip"])
    segment_memberships_recompute()

    body = reader.get(f"/api/segments/customers/{customer.pk}/approach").json()

    assert body["slugs"] == ["vip"]
    assert body["guidance"] == ["Personal call"]
    assert body["timer_percent"] == 60
    assert body["per_case_limit_lift"] is None
    assert reader.get("/api/segments/customers/999999/approach").status_code == 404


def test_given_a_vip_case_when_read_through_the_case_api_then_segments_and_guidance_show(
    make_token_client, agent
) -> None:
    from bounceback.cases.services import case_open

    SegmentFactory(slug="vip", rules=VIP, timer_percent=50, guidance="Personal call")
    customer = CustomerFactory(tags=["vip"])
    segment_memberships_recompute()
    case = case_open(customer=customer, summary="Late", actor=agent)

    body = make_token_client("cases:read").get(f"/api/cases/{case.pk}").json()

    assert (body["segments"], body["guidance"], body["timer_percent"]) == (
        ["vip"],
        ["Personal call"],
        50,
    )


def test_a_tier_too_large_to_store_is_a_422_naming_the_field(writer) -> None:  # type: ignore[no-untyped-def]
    response = writer.post(
        "/api/segments/",
        {"name": "Whales", "slug": "whales", "rules": VIP, "compensation_tier": "1e30"},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["field"] == "compensation_tier"
