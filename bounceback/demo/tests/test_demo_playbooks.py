"""The demo's playbooks: one per high-risk failure mode, coach-approved, with history."""

from __future__ import annotations

import pytest

from bounceback.demo.playbooks import POWER_OUTAGE, load_playbooks
from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.playbooks.models import Playbook, PlaybookVersion, TemplatePurpose
from bounceback.playbooks.selectors import template_for

pytestmark = pytest.mark.django_db


def test_given_the_catalog_when_the_demo_playbooks_load_then_they_answer_its_failure_modes():
    touchpoint = Touchpoint.objects.create(name="The show")
    titles = [
        "Power outage during an event",
        "Technician off sick",
        "Shipments delayed by weather",
        "Phone system down",
    ]
    modes = [
        FailureMode.objects.create(
            touchpoint=touchpoint,
            title=title,
            severity=9,
            occurrence=3,
            detection=2,
            status=FailureMode.Status.ACCEPTED,
        )
        for title in titles
    ]

    assert load_playbooks() == 4

    # The coach checks each apology names its failure mode; all still pass without an override.
    assert {p.failure_mode for p in Playbook.objects.all()} == set(modes)
    assert not PlaybookVersion.objects.exclude(coach_override_reason="").exists()
    playbook = Playbook.objects.get(name=POWER_OUTAGE)
    assert playbook.failure_mode == modes[0]
    version = playbook.current
    assert version.actions.count() >= 5
    assert {c.segment for c in version.compensations.all()} == {"all", "vip"}
    assert len(version.escalation_contacts) >= 2


def test_given_no_catalog_when_the_demo_playbooks_load_then_each_has_a_breakdown_type():
    load_playbooks()

    playbooks = list(Playbook.objects.select_related("current"))
    assert {p.name for p in playbooks} == {
        POWER_OUTAGE,
        "Technician off sick",
        "Shipments delayed by weather",
        "Phone system down",
    }
    assert all(p.breakdown_type and p.failure_mode is None for p in playbooks)


def test_given_the_demo_playbooks_then_every_english_apology_passes_the_coach():
    load_playbooks()

    for playbook in Playbook.objects.select_related("current"):
        templates = list(playbook.current.templates.all())
        purposes = {t.purpose for t in templates if t.language == "en"}
        assert purposes == set(TemplatePurpose.values), playbook.name
        apology = next(t for t in templates if t.purpose == "apology" and t.language == "en")
        assert apology.coach_score >= 70, (playbook.name, apology.coach_findings)
        assert not playbook.current.coach_override_reason


def test_given_the_power_outage_playbook_then_spanish_speakers_get_spanish_templates():
    load_playbooks()
    version = Playbook.objects.get(name=POWER_OUTAGE).current

    spanish = template_for(version=version, purpose="apology", channel="email", language="es-MX")

    assert spanish is not None and spanish.language == "es"
    assert spanish.body.startswith("Estimado")


def test_given_the_phone_playbook_then_it_has_two_versions_and_the_first_is_intact():
    load_playbooks()
    playbook = Playbook.objects.get(name="Phone system down")

    first, second = playbook.versions.order_by("number")

    assert playbook.current == second
    assert first.actions.count() == 3
    assert second.actions.count() == 5
    assert "backup carrier" in second.change_note
