"""Playbook services: versions are never rewritten, bad input names its field, the coach gates."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from bounceback.errors import Conflict, ValidationFailed
from bounceback.playbooks.models import PlaybookVersion
from bounceback.playbooks.services import (
    ActionInput,
    CoachRefused,
    CompensationInput,
    TemplateInput,
    content_of,
    playbook_archive,
    playbook_create,
    playbook_revise,
    playbook_update_details,
)
from bounceback.testing.playbooks_factories import make_playbook, playbook_content

pytestmark = pytest.mark.django_db


def test_given_a_playbook_when_revised_then_the_old_version_keeps_its_rows(agent):
    playbook = make_playbook()
    v1 = playbook.current
    before = [(a.title, a.target_minutes) for a in v1.actions.all()]

    content = replace(
        content_of(v1),
        actions=[ActionInput(title="Only this now", owner_role="lead", target_minutes=3)],
        change_note="Simpler",
    )
    v2 = playbook_revise(playbook=playbook, actor=agent, content=content)

    playbook.refresh_from_db()
    assert playbook.current == v2 and v2.number == 2
    assert [(a.title, a.target_minutes) for a in v1.actions.all()] == before
    assert [a.title for a in v2.actions.all()] == ["Only this now"]
    assert PlaybookVersion.objects.filter(playbook=playbook).count() == 2
    assert v1.templates.count() == v2.templates.count() == 5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"actions": []}, "actions"),
        (
            {"actions": [ActionInput(title="x", owner_role="boss", target_minutes=5)]},
            "actions[0].owner_role",
        ),
        (
            {
                "actions": [
                    ActionInput(title="a", owner_role="lead", target_minutes=5),
                    ActionInput(title="b", owner_role="lead", target_minutes=0),
                ]
            },
            "actions[1].target_minutes",
        ),
        (
            {"templates": [TemplateInput(purpose="apology", body="Hi {{ customer.shoe_size }}")]},
            "templates[0].body",
        ),
        (
            {"templates": [TemplateInput(purpose="apology", channel="pigeon", body="x")]},
            "templates[0].channel",
        ),
        (
            {
                "templates": [
                    TemplateInput(purpose="status_update", body="One"),
                    TemplateInput(purpose="status_update", body="Two"),
                ]
            },
            "templates[1].language",
        ),
        (
            {
                "compensations": [
                    CompensationInput(kind="refund", amount=Decimal("-1"), currency="USD")
                ]
            },
            "compensations[0].amount",
        ),
        (
            {
                "compensations": [
                    CompensationInput(kind="refund", amount=Decimal("10"), currency="dollars")
                ]
            },
            "compensations[0].currency",
        ),
        ({"applies_when": "  "}, "applies_when"),
    ],
)
def test_given_bad_content_when_creating_then_the_error_names_the_field_and_nothing_is_saved(
    change, field
):
    with pytest.raises(ValidationFailed) as error:
        make_playbook(name="Broken", **change)

    assert error.value.field == field
    assert not PlaybookVersion.objects.exists()


def test_given_neither_failure_mode_nor_breakdown_type_when_creating_then_refused():
    with pytest.raises(ValidationFailed) as error:
        playbook_create(actor=None, name="Nothing", content=playbook_content())

    assert error.value.field == "failure_mode"


def test_given_a_taken_name_when_creating_then_conflict():
    make_playbook(name="Power outage")

    with pytest.raises(Conflict) as error:
        make_playbook(name="power outage")

    assert error.value.field == "name"


HOLLOW = [
    TemplateInput(purpose="status_update", body="Still working on it, sorry for any trouble."),
    TemplateInput(purpose="apology", body="We apologise for any inconvenience."),
]


def test_given_a_hollow_apology_when_saved_then_the_coach_refuses_with_its_findings():
    with pytest.raises(CoachRefused) as error:
        make_playbook(templates=HOLLOW)

    assert error.value.field == "templates[1].body"
    assert error.value.status == 422
    assert "any_inconvenience" in {f.code for f in error.value.result.findings}
    assert not PlaybookVersion.objects.exists()


def test_given_an_override_reason_when_saved_then_the_score_and_reason_are_kept():
    playbook = make_playbook(templates=HOLLOW, coach_override_reason="Wording set by legal")

    version = playbook.current
    apology = version.templates.get(purpose="apology")
    update = version.templates.get(purpose="status_update")
    assert version.coach_override_reason == "Wording set by legal"
    assert apology.coach_score is not None and apology.coach_score < 70
    assert update.coach_score is None
    assert "any_inconvenience" in {f["code"] for f in update.coach_findings}


def test_given_a_hollow_spanish_apology_then_the_coach_scores_and_refuses_it():
    # The coach reads Spanish: a bare "Lo sentimos." owns nothing, fixes nothing.
    with pytest.raises(CoachRefused) as error:
        make_playbook(
            templates=[TemplateInput(purpose="apology", language="es", body="Lo sentimos.")]
        )

    assert error.value.result.scored and error.value.result.language == "es"
    assert error.value.result.score < 70


def test_given_an_apology_in_a_language_the_coach_cannot_read_then_it_is_not_scored_or_refused():
    playbook = make_playbook(
        templates=[TemplateInput(purpose="apology", language="fr", body="Nous sommes désolés.")]
    )

    apology = playbook.current.templates.get()
    assert apology.coach_score is None
    assert apology.coach_findings[0]["code"] == "not_scored"


def test_given_an_archived_playbook_when_revised_then_conflict_and_restore_allows_it():
    playbook = make_playbook()
    playbook_archive(playbook=playbook, actor=None)

    with pytest.raises(Conflict):
        playbook_revise(playbook=playbook, actor=None, content=content_of(playbook.current))
    with pytest.raises(Conflict):
        playbook_archive(playbook=playbook, actor=None)

    playbook_archive(playbook=playbook, actor=None, archived=False)
    version = playbook_revise(playbook=playbook, actor=None, content=content_of(playbook.current))
    assert version.number == 2


def test_given_a_playbook_when_details_change_then_no_new_version_is_written():
    playbook = make_playbook(name="Old name")

    playbook_update_details(playbook=playbook, actor=None, name="New name", breakdown_type="flood")

    playbook.refresh_from_db()
    assert (playbook.name, playbook.breakdown_type) == ("New name", "flood")
    assert playbook.versions.count() == 1
    with pytest.raises(ValidationFailed) as error:
        playbook_update_details(playbook=playbook, actor=None, breakdown_type="")
    assert error.value.field == "failure_mode"
