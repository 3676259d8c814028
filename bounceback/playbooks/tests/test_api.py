"""The playbooks API: list, create, read, edit details, versions, revise, archive, preview."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bounceback.playbooks.models import Playbook
from bounceback.testing.playbooks_factories import TEMPLATES, make_playbook

pytestmark = pytest.mark.django_db


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Phone lines down",
        "breakdown_type": "phone outage",
        "applies_when": "Customers cannot reach us by phone.",
        "backup_resources": "Mobile hotspot and the second carrier.",
        "escalation_contacts": [{"name": "Sam Ito", "role": "IT", "phone": "+15550111"}],
        "actions": [
            {
                "title": "Switch to the backup carrier",
                "owner_role": "manager",
                "target_minutes": 10,
            },
            {"title": "Post a banner on the website", "owner_role": "lead", "target_minutes": 15},
        ],
        "templates": [
            {"purpose": p, "channel": "email", "language": "en", "subject": s, "body": b}
            for p, (s, b) in TEMPLATES.items()
        ],
        "compensations": [
            {"segment": "all", "kind": "credit", "amount": "5.00", "currency": "USD"},
        ],
        "change_note": "First draft",
    }
    body.update(overrides)
    return body


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def writer(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("playbooks:write", "customers:read")


@pytest.fixture
def reader(make_token_client):  # type: ignore[no-untyped-def]
    return make_token_client("playbooks:read")


def test_given_content_when_a_playbook_is_created_then_it_reads_back_as_version_1(writer):
    response = _post(writer, "/api/playbooks/", _body())

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["current_version"] == 1
    assert [a["title"] for a in data["current"]["actions"]] == [
        "Switch to the backup carrier",
        "Post a banner on the website",
    ]
    apology = next(t for t in data["current"]["templates"] if t["purpose"] == "apology")
    assert apology["coach_score"] >= 70
    assert data["current"]["compensations"][0]["amount"] == "5.00"
    again = writer.get(f"/api/playbooks/{data['id']}")
    assert again.json()["current"]["escalation_contacts"][0]["name"] == "Sam Ito"


def test_given_playbooks_when_listed_then_each_has_its_counts_in_few_queries(
    reader, django_assert_max_num_queries
):
    for i in range(3):
        make_playbook(name=f"Playbook {i}")

    with django_assert_max_num_queries(6):
        response = reader.get("/api/playbooks/?limit=2")

    data = response.json()
    assert response.status_code == 200
    assert [p["name"] for p in data["items"]] == ["Playbook 0", "Playbook 1"]
    assert data["items"][0]["current_version"] == 1
    assert data["items"][0]["action_count"] == 3
    assert data["items"][0]["template_count"] == 5
    rest = reader.get(f"/api/playbooks/?limit=2&cursor={data['next_cursor']}").json()
    assert [p["name"] for p in rest["items"]] == ["Playbook 2"]


def test_given_a_read_token_when_writing_then_403(reader):
    response = _post(reader, "/api/playbooks/", _body())

    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


def test_given_bad_rows_when_creating_then_422_names_the_field(writer):
    bad = _body()
    bad["actions"][1]["target_minutes"] = 0

    response = _post(writer, "/api/playbooks/", bad)

    assert response.status_code == 422
    assert response.json()["field"] == "actions[1].target_minutes"
    assert not Playbook.objects.exists()


def test_given_a_hollow_apology_when_creating_then_422_until_an_override_reason(writer):
    hollow = _body()
    hollow["templates"] = [{"purpose": "apology", "body": "Sorry for any inconvenience."}]

    refused = _post(writer, "/api/playbooks/", hollow)
    saved = _post(writer, "/api/playbooks/", {**hollow, "coach_override_reason": "Approved"})

    assert refused.status_code == 422
    assert refused.json()["code"] == "coach_refused"
    assert refused.json()["field"] == "templates[0].body"
    assert saved.status_code == 201


def test_given_a_playbook_when_revised_then_versions_list_both_and_v1_reads_as_it_was(writer):
    playbook = make_playbook()
    revised = _body(change_note="Shorter checklist")
    revised["actions"] = [{"title": "Just one", "owner_role": "lead", "target_minutes": 5}]

    response = _post(writer, f"/api/playbooks/{playbook.pk}/versions", revised)

    assert response.status_code == 201
    assert response.json()["number"] == 2
    versions = writer.get(f"/api/playbooks/{playbook.pk}/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    v1 = writer.get(f"/api/playbooks/{playbook.pk}/versions/1").json()
    assert len(v1["actions"]) == 3
    assert writer.get(f"/api/playbooks/{playbook.pk}").json()["current_version"] == 2
    missing = writer.get(f"/api/playbooks/{playbook.pk}/versions/9")
    assert missing.status_code == 404


def test_given_a_playbook_when_patched_and_archived_then_details_change_without_a_version(writer):
    playbook = make_playbook(name="Old")

    patched = writer.patch(
        f"/api/playbooks/{playbook.pk}",
        data=json.dumps({"name": "New", "breakdown_type": "flood"}),
        content_type="application/json",
    )
    archived = _post(writer, f"/api/playbooks/{playbook.pk}/archive", {})
    again = _post(writer, f"/api/playbooks/{playbook.pk}/archive", {})

    assert patched.status_code == 200
    assert patched.json()["name"] == "New" and patched.json()["current_version"] == 1
    assert archived.json()["archived"] is True
    assert again.status_code == 409
    assert writer.get("/api/playbooks/").json()["items"] == []
    assert len(writer.get("/api/playbooks/?archived=true").json()["items"]) == 1


def test_given_an_unknown_failure_mode_when_creating_then_404_on_that_field(writer):
    response = _post(writer, "/api/playbooks/", _body(failure_mode_id=999))

    assert response.status_code == 404
    assert response.json()["field"] == "failure_mode_id"


def test_given_a_draft_when_previewed_then_it_is_rendered_and_coached(reader):
    response = _post(
        reader,
        "/api/playbooks/preview",
        {
            "purpose": "apology",
            "subject": "Sorry, {{ customer.first_name }}",
            "body": TEMPLATES["apology"][1],
            "explanation": TEMPLATES["explanation"][1],
            "alternatives": TEMPLATES["alternatives"][1],
        },
    )

    data = response.json()
    assert response.status_code == 200
    assert data["subject"] == "Sorry, Alex"
    assert data["coach"]["passed"] is True
    bad = _post(reader, "/api/playbooks/preview", {"purpose": "all_clear", "body": "{{ x.y }}"})
    assert bad.json()["problems"] and bad.json()["coach"] is None
