"""The playbook pages: reading for everyone on staff, the editor for leads and managers."""

from __future__ import annotations

from typing import Any

import pytest

from bounceback.playbooks.models import Playbook
from bounceback.playbooks.services import content_of
from bounceback.testing.playbooks_factories import TEMPLATES, make_playbook

pytestmark = pytest.mark.django_db


def _management(prefix: str, total: int, initial: int = 0) -> dict[str, Any]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _new_playbook_post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Flooded depot",
        "breakdown_type": "weather delay",
        "applies_when": "A depot cannot ship because of the weather.",
        "backup_resources": "Second courier.",
        "change_note": "First version",
        **_management("actions", 1),
        "actions-0-title": "Call the depot",
        "actions-0-owner_role": "lead",
        "actions-0-target_minutes": "15",
        **_management("templates", 5),
        **_management("compensations", 1),
        "compensations-0-segment": "all",
        "compensations-0-kind": "voucher",
        "compensations-0-amount": "10.00",
        "compensations-0-currency": "USD",
        **_management("contacts", 0),
    }
    for i, (purpose, (subject, body)) in enumerate(TEMPLATES.items()):
        data.update(
            {
                f"templates-{i}-purpose": purpose,
                f"templates-{i}-channel": "email",
                f"templates-{i}-language": "en",
                f"templates-{i}-subject": subject,
                f"templates-{i}-body": body,
            }
        )
    data.update(overrides)
    return data


def test_given_playbooks_when_an_agent_opens_the_list_then_each_shows_what_it_answers(
    agent_client, django_assert_max_num_queries
):
    make_playbook(name="Power outage at an event", breakdown_type="power outage")
    make_playbook(name="Phone system down", breakdown_type="phone outage")

    with django_assert_max_num_queries(12):
        response = agent_client.get("/playbooks/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Power outage at an event" in page
    assert "phone outage" in page
    assert "v1" in page
    assert "New playbook" not in page


def test_given_a_playbook_when_an_agent_opens_it_then_the_plan_shows_but_no_edit(agent_client):
    playbook = make_playbook(name="Power outage at an event")

    response = agent_client.get(f"/playbooks/{playbook.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Confirm what happened on site" in page
    apology = playbook.current.templates.get(purpose="apology")
    assert apology.coach_score >= 70
    assert f"Coach {apology.coach_score}/100" in page
    assert "vip" in page
    assert "Dana Reyes" in page
    assert "Edit (new version)" not in page
    assert agent_client.get(f"/playbooks/{playbook.pk}/edit/").status_code == 403
    assert agent_client.post("/playbooks/new/", _new_playbook_post()).status_code == 403


def test_given_a_lead_when_they_create_a_playbook_in_the_editor_then_it_is_version_1(
    lead_client,
):
    assert lead_client.get("/playbooks/new/").status_code == 200

    response = lead_client.post("/playbooks/new/", _new_playbook_post())

    assert response.status_code == 302, response.content.decode()[:3000]
    playbook = Playbook.objects.get(name="Flooded depot")
    assert playbook.current.number == 1
    assert [a.title for a in playbook.current.actions.all()] == ["Call the depot"]
    assert playbook.current.templates.count() == 5


def test_given_a_bad_row_when_saved_then_the_error_shows_on_that_row_and_nothing_is_written(
    lead_client,
):
    response = lead_client.post(
        "/playbooks/new/", _new_playbook_post(**{"templates-1-body": "Hello {{ customer.age }}"})
    )

    assert response.status_code == 422
    assert "unknown placeholder" in response.content.decode()
    assert not Playbook.objects.filter(name="Flooded depot").exists()


def test_given_a_hollow_apology_when_saved_then_the_coach_refuses_until_a_reason_is_given(
    lead_client,
):
    hollow = {
        "templates-0-body": "We apologise for any inconvenience.",
        "templates-1-body": "There was a problem at the depot.",
        "templates-2-body": "Please contact us.",
    }

    refused = lead_client.post("/playbooks/new/", _new_playbook_post(**hollow))

    assert refused.status_code == 422
    assert "apology coach scored the first message" in refused.content.decode()
    saved = lead_client.post(
        "/playbooks/new/",
        _new_playbook_post(**hollow, coach_override_reason="Legal wording, approved by counsel"),
    )
    assert saved.status_code == 302
    version = Playbook.objects.get(name="Flooded depot").current
    assert version.coach_override_reason == "Legal wording, approved by counsel"


def test_given_a_playbook_when_a_lead_edits_it_then_a_new_version_is_current_and_v1_unchanged(
    lead_client,
):
    playbook = make_playbook(name="Power outage at an event")
    form = lead_client.get(f"/playbooks/{playbook.pk}/edit/")
    assert form.status_code == 200
    content = content_of(playbook.current)
    data: dict[str, Any] = {
        "applies_when": content.applies_when,
        "backup_resources": content.backup_resources,
        "change_note": "Generator contractor changed",
        **_management("actions", len(content.actions), len(content.actions)),
        **_management("templates", len(content.templates), len(content.templates)),
        **_management("compensations", 0),
        **_management("contacts", 0),
    }
    for i, action in enumerate(content.actions):
        data.update({f"actions-{i}-{k}": v for k, v in vars(action).items()})
    data["actions-1-title"] = "Call the new generator contractor"
    for i, template in enumerate(content.templates):
        data.update({f"templates-{i}-{k}": v for k, v in vars(template).items()})

    response = lead_client.post(f"/playbooks/{playbook.pk}/edit/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    playbook.refresh_from_db()
    assert playbook.current.number == 2
    titles = [a.title for a in playbook.current.actions.all()]
    assert titles[1] == "Call the new generator contractor"
    assert playbook.current.compensations.count() == 0
    old = lead_client.get(f"/playbooks/{playbook.pk}/versions/1/").content.decode()
    assert "Call the contractor" in old
    assert "an old version" in old


def test_given_a_draft_apology_when_previewed_then_it_renders_with_sample_values_and_a_score(
    agent_client,
):
    response = agent_client.post(
        "/playbooks/preview/",
        {
            "row": "templates-0",
            "templates-TOTAL_FORMS": "1",
            "templates-0-purpose": "apology",
            "templates-0-channel": "email",
            "templates-0-language": "en",
            "templates-0-body": "Dear {{ customer.first_name }}, sorry for any inconvenience.",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Dear Alex" in page
    assert "any_inconvenience" in page
    assert "Apology coach:" in page
    # The suggested apology keeps the placeholders, so it can replace the template.
    assert "Suggested apology" in page and "data-pb-take-rewrite" in page
    assert "Dear {{ customer.first_name }}," in page.split("data-pb-rewrite>")[1]
