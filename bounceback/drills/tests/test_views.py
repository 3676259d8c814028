"""The drill pages: library to debrief as a manager, the banner an agent sees, coverage."""

from __future__ import annotations

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.drills.models import Drill, DrillInject
from bounceback.testing.drills_factories import make_drill, make_scenario
from bounceback.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_starts_a_drill_from_the_library_and_reads_its_debrief():
    manager = UserFactory(role=Role.MANAGER)
    agent = UserFactory(role=Role.AGENT)
    scenario = make_scenario(actor=manager)
    client = _client(manager)

    library = client.get("/drills/")
    assert scenario.title in library.content.decode()
    started = client.post(
        "/drills/new/",
        {"scenario": scenario.pk, "mode": "live", "responders": [agent.pk], "start_now": "on"},
    )
    drill = Drill.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/drills/{drill.pk}/"
    page = client.get(f"/drills/{drill.pk}/").content.decode()
    assert "Morgan Reyes" in page and "None left Bounceback" in page

    ended = client.post(f"/drills/{drill.pk}/end/")
    debrief = client.get(ended["Location"]).content.decode()

    assert ended["Location"] == f"/drills/{drill.pk}/debrief/"
    assert "Readiness" in debrief and "Apologised in time" in debrief
    assert "<svg" in debrief


def test_an_agent_working_a_drill_case_sees_the_banner_but_not_on_a_real_case():
    agent = UserFactory(role=Role.AGENT)
    drill = make_drill(responder=agent)
    case = DrillInject.objects.get(drill=drill, case__isnull=False).case

    page = _client(agent).get(f"/cases/{case.pk}/").content.decode()

    assert "This is a drill." in page
    assert f"/drills/{drill.pk}/" in page


def test_an_agent_may_not_set_up_or_run_a_drill_but_may_log_in_one():
    agent = UserFactory(role=Role.AGENT)
    drill = make_drill(responder=agent)
    client = _client(agent)

    assert client.get("/drills/new/").status_code == 403
    assert client.post(f"/drills/{drill.pk}/end/").status_code == 403
    client.post(f"/drills/{drill.pk}/log/", {"text": "I took the VIP", "kind": "decision"})
    assert drill.log.filter(text="I took the VIP").exists()


def test_a_bad_drill_form_comes_back_with_the_field_marked():
    manager = UserFactory(role=Role.MANAGER)
    response = _client(manager).post("/drills/new/", {"mode": "live"})
    assert response.status_code == 422
    assert "errorlist" in response.content.decode()


def test_the_coverage_page_lists_never_drilled_playbooks_and_draws_the_trend():
    manager = UserFactory(role=Role.MANAGER)
    scenario = make_scenario(actor=manager)

    page = _client(manager).get("/drills/coverage/").content.decode()

    assert scenario.playbook.name in page and "Never drilled" in page
    assert "<svg" in page


def test_a_manager_edits_a_scenarios_injects():
    manager = UserFactory(role=Role.MANAGER)
    scenario = make_scenario(actor=manager)
    client = _client(manager)
    assert client.get(f"/drills/scenarios/{scenario.pk}/").status_code == 200
    data = {
        "title": "Power cut, edited",
        "description": "",
        "injects-TOTAL_FORMS": "1",
        "injects-INITIAL_FORMS": "0",
        "injects-MIN_NUM_FORMS": "0",
        "injects-MAX_NUM_FORMS": "30",
        "injects-0-offset_minutes": "2",
        "injects-0-persona": "spanish",
        "injects-0-customer_name": "Lucía",
        "injects-0-channel": "email",
        "injects-0-language": "es",
        "injects-0-summary": "Sin luz",
        "injects-0-message": "No hay luz.",
        "injects-0-acknowledge_minutes": "5",
        "injects-0-apologise_minutes": "15",
    }

    saved = client.post(f"/drills/scenarios/{scenario.pk}/", data)

    assert saved.status_code == 302
    scenario.refresh_from_db()
    assert scenario.title == "Power cut, edited"
    assert list(scenario.injects.values_list("customer_name", flat=True)) == ["Lucía"]


def test_the_running_drill_page_refreshes_its_status_alone():
    manager = UserFactory(role=Role.MANAGER)
    drill = make_drill(actor=manager)

    part = _client(manager).get(f"/drills/{drill.pk}/?part=status", HTTP_HX_REQUEST="true")

    body = part.content.decode()
    assert body.startswith('<div id="drill-status"') and "every 10s" in body
    assert "<html" not in body and "Morgan Reyes" in body
