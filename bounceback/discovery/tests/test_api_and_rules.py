"""Discovery's API: scoring, rules (preview, versions, one case per window), scans."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceback.audit.models import AuditEvent
from bounceback.cases.models import Case
from bounceback.discovery.models import Rule, RuleFiring
from bounceback.signals.services import signals_record_many
from bounceback.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DETRACTOR = {"all": [{"field": "nps", "op": "<=", "value": 6}]}


@pytest.fixture
def discovery(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("discovery:write", "signals:write")


def _nps(customer_id: int, n: int, score: int, hours_ago: float) -> dict:
    return {
        "source": "nps",
        "external_id": f"N-{n}",
        "kind": "survey",
        "nps": score,
        "customer_id": customer_id,
        "occurred_at": (timezone.now() - timedelta(hours=hours_ago)).isoformat(),
        "text": "Nobody called me back" if score <= 6 else "Lovely",
    }


@pytest.mark.parametrize(
    ("text", "negative"),
    [
        ("No problems at all, the delivery was quick", False),
        ("Not happy, the parcel never arrived", True),
        ("Kindly refund me, I waited two hours and nobody came", True),
        ("Kindly send me the invoice for my order", False),
        ("Thanks, the technician was brilliant", False),
    ],
)
def test_the_score_endpoint_reads_negation_and_politeness_as_a_person_would(
    discovery, text, negative
) -> None:
    response = discovery.post(
        "/api/discovery/score", {"text": text}, content_type="application/json"
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["score"] >= 0.5) is negative, body
    assert (
        body["label"] in {"negative", "very negative"}
        if negative
        else body["label"] == "not negative"
    )


def test_signals_carry_their_negativity() -> None:
    result = signals_record_many(
        items=[
            {
                "source": "x",
                "external_id": "1",
                "occurred_at": "2026-01-01T00:00:00Z",
                "text": "Absolutely terrible, my order is three days late",
            }
        ]
    )

    from bounceback.signals.models import Signal

    assert Signal.objects.get(pk=result.created_ids[0]).negativity > 0.5


def test_a_rule_is_previewed_then_saved_and_opens_one_case_per_customer_per_window(
    discovery,
) -> None:
    ann, bob = CustomerFactory(), CustomerFactory()
    signals_record_many(
        items=[_nps(ann.pk, 1, 3, 50), _nps(ann.pk, 2, 2, 40), _nps(bob.pk, 3, 9, 30)]
    )

    preview = discovery.post(
        "/api/discovery/rules/preview",
        {"conditions": DETRACTOR, "action": "open_case", "window_hours": 72},
        content_type="application/json",
    )
    created = discovery.post(
        "/api/discovery/rules",
        {
            "name": "Detractors",
            "conditions": DETRACTOR,
            "action": "open_case",
            "action_params": {"severity": "high"},
        },
        content_type="application/json",
    )
    signals_record_many(
        items=[_nps(ann.pk, 4, 1, 1), _nps(bob.pk, 5, 4, 1), _nps(bob.pk, 6, 0, 0.5)]
    )

    assert preview.status_code == 200
    assert preview.json()["counts"] == {"case_opened": 1, "held_back": 1}
    assert Case.objects.count() == 2  # preview wrote nothing; the rule opened ann's and bob's
    assert created.status_code == 201
    assert set(Case.objects.values_list("customer_id", flat=True)) == {ann.pk, bob.pk}
    assert Case.objects.filter(severity="high").count() == 2
    assert RuleFiring.objects.filter(outcome="held_back").count() == 1


def test_rules_are_versioned_audited_and_switchable(discovery) -> None:
    rule_id = discovery.post(
        "/api/discovery/rules",
        {
            "name": "Low stars",
            "action": "alert_role",
            "action_params": {"role": "manager"},
            "conditions": {
                "all": [
                    {"field": "kind", "op": "=", "value": "review"},
                    {"field": "rating", "op": "<=", "value": 2},
                ]
            },
        },
        content_type="application/json",
    ).json()["id"]

    off = discovery.patch(
        f"/api/discovery/rules/{rule_id}", {"active": False}, content_type="application/json"
    )

    assert off.json()["active"] is False and off.json()["version"] == 2
    assert Rule.objects.get(pk=rule_id).versions.count() == 2
    assert AuditEvent.objects.filter(action__in=["rule_created", "rule_changed"]).count() == 2


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ({"field": "nps", "op": "<=", "value": 6}, "conditions"),
        ({"all": [{"field": "mood", "op": "=", "value": 1}]}, "conditions.all[0].field"),
        ({"all": [{"field": "nps", "op": "~", "value": 1}]}, "conditions.all[0].op"),
        ({"any": [{"field": "nps", "op": "<", "value": "low"}]}, "conditions.any[0].value"),
    ],
)
def test_bad_conditions_are_422_naming_the_path(discovery, conditions, field) -> None:
    response = discovery.post(
        "/api/discovery/rules",
        {"name": "x", "conditions": conditions, "action": "open_case"},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["field"] == field


def test_the_examples_the_product_promises_are_expressible(discovery) -> None:
    examples = [
        DETRACTOR,
        {
            "all": [
                {"field": "kind", "op": "=", "value": "review"},
                {"field": "rating", "op": "<=", "value": 2},
            ]
        },
        {
            "all": [
                {"field": "event", "op": "=", "value": "order_late"},
                {"field": "attributes.days_late", "op": ">", "value": 2},
                {"field": "segment", "op": "=", "value": "high-value"},
            ]
        },
        {
            "all": [
                {"field": "negativity", "op": ">=", "value": 0.8},
                {"field": "site", "op": "exists"},
            ]
        },
    ]
    for conditions in examples:
        response = discovery.post(
            "/api/discovery/rules/preview",
            {"conditions": conditions, "action": "open_case"},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content


def test_lists_answer_in_few_queries(discovery, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(5):
        assert discovery.get("/api/discovery/rules").status_code == 200
    with django_assert_max_num_queries(5):
        assert discovery.get("/api/discovery/suspected").status_code == 200


def test_a_rules_versions_and_firings_are_read_back(
    discovery, django_assert_max_num_queries
) -> None:
    ann = CustomerFactory()
    rule_id = discovery.post(
        "/api/discovery/rules",
        {"name": "Detractors", "conditions": DETRACTOR, "action": "open_case"},
        content_type="application/json",
    ).json()["id"]
    discovery.patch(
        f"/api/discovery/rules/{rule_id}", {"window_hours": 24}, content_type="application/json"
    )
    signals_record_many(items=[_nps(ann.pk, 1, 3, 30), _nps(ann.pk, 2, 2, 20)])

    with django_assert_max_num_queries(6):
        versions = discovery.get(f"/api/discovery/rules/{rule_id}/versions")
    with django_assert_max_num_queries(6):
        firings = discovery.get(f"/api/discovery/rules/{rule_id}/firings?limit=1")
    held = discovery.get(f"/api/discovery/rules/{rule_id}/firings?outcome=held_back")
    bad = discovery.get(f"/api/discovery/rules/{rule_id}/firings?outcome=exploded")

    assert [v["number"] for v in versions.json()] == [2, 1]
    assert versions.json()[0]["snapshot"]["window_hours"] == 24
    page = firings.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    assert page["items"][0]["input"] == "signal"
    assert [f["outcome"] for f in held.json()["items"]] == ["held_back"]  # 10 h apart, 24 h window
    assert bad.status_code == 422


def test_an_unknown_suspicion_status_is_refused(discovery) -> None:
    response = discovery.get("/api/discovery/suspected?status=sleeping")

    assert response.status_code == 422
    assert response.json()["field"] == "status"
