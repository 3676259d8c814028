from __future__ import annotations

import pytest

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.errors import Conflict, Forbidden, ValidationFailed
from bounceback.failuremodes import services
from bounceback.failuremodes.models import FailureMode, FailureModeVote
from bounceback.testing.factories import SiteFactory, UserFactory
from bounceback.testing.failuremodes_factories import FailureModeFactory, TouchpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead():  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.LEAD)


@pytest.fixture
def stage():  # type: ignore[no-untyped-def]
    return TouchpointFactory(name="Arrival and doors")


def _propose(actor, touchpoint, **overrides):  # type: ignore[no-untyped-def]
    values = {
        "title": "Doors open late",
        "severity": 5,
        "occurrence": 4,
        "detection": 3,
        "effect": "Queue in the rain",
    }
    return services.failure_mode_propose(
        actor=actor, touchpoint=touchpoint, **{**values, **overrides}
    )


def test_given_an_agent_when_they_propose_then_the_mode_waits_for_a_decision_with_its_rpn(
    agent, stage
) -> None:
    mode = _propose(agent, stage)

    mode.refresh_from_db()
    assert mode.status == FailureMode.Status.PROPOSED
    assert mode.proposed_by == agent
    assert mode.rpn == 5 * 4 * 3


@pytest.mark.parametrize("field", ["severity", "occurrence", "detection"])
@pytest.mark.parametrize("value", [0, 11, "7", None])
def test_given_a_score_outside_1_to_10_when_proposing_then_it_is_refused_on_that_field(
    agent, stage, field, value
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _propose(agent, stage, **{field: value})

    assert refused.value.field == field
    assert "from 1 to 10" in refused.value.message
    assert not FailureMode.objects.exists()


def test_given_a_title_already_at_the_touchpoint_when_proposing_again_in_other_case_then_refused(
    agent, stage
) -> None:
    _propose(agent, stage)

    with pytest.raises(Conflict) as refused:
        _propose(agent, stage, title="DOORS OPEN LATE")

    assert refused.value.field == "title"
    assert "already has a failure mode" in refused.value.message
    # The same title at another touchpoint is a different failure.
    _propose(agent, TouchpointFactory(name="The show"), title="Doors open late")
    assert FailureMode.objects.count() == 2


def test_given_a_blank_title_when_proposing_then_the_title_is_required(agent, stage) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _propose(agent, stage, title="   ")

    assert refused.value.field == "title"


def test_given_a_vote_when_the_same_person_votes_again_then_it_replaces_the_first(
    agent, stage
) -> None:
    mode = _propose(agent, stage)

    services.failure_mode_vote(failure_mode=mode, voter=agent, value=1)
    services.failure_mode_vote(failure_mode=mode, voter=agent, value=-1, comment="Rare")

    assert list(FailureModeVote.objects.values_list("value", "comment")) == [(-1, "Rare")]


def test_given_a_vote_of_two_or_on_an_accepted_mode_then_it_is_refused(agent, stage) -> None:
    mode = _propose(agent, stage)
    with pytest.raises(ValidationFailed) as bad:
        services.failure_mode_vote(failure_mode=mode, voter=agent, value=2)
    assert bad.value.field == "value"

    accepted = FailureModeFactory()
    with pytest.raises(Conflict):
        services.failure_mode_vote(failure_mode=accepted, voter=agent, value=1)


def test_given_a_proposal_when_a_lead_accepts_it_then_it_is_decided_and_audited(
    agent, lead, stage
) -> None:
    mode = _propose(agent, stage)

    services.failure_mode_accept(failure_mode=mode, actor=lead, reason="Happens every winter")

    mode.refresh_from_db()
    assert (mode.status, mode.decided_by, mode.decision_reason) == (
        "accepted",
        lead,
        "Happens every winter",
    )
    assert mode.decided_at is not None
    event = AuditEvent.objects.get(action="failure_mode_accepted")
    assert event.target == f"failure_mode:{mode.pk}"


def test_given_a_proposal_when_an_agent_tries_to_accept_it_then_forbidden(agent, stage) -> None:
    mode = _propose(agent, stage)

    with pytest.raises(Forbidden):
        services.failure_mode_accept(failure_mode=mode, actor=agent)

    mode.refresh_from_db()
    assert mode.status == "proposed"


def test_given_a_rejection_without_a_reason_then_refused_and_with_one_then_rejected(
    agent, lead, stage
) -> None:
    mode = _propose(agent, stage)

    with pytest.raises(ValidationFailed) as refused:
        services.failure_mode_reject(failure_mode=mode, actor=lead, reason=" ")
    assert refused.value.field == "reason"

    services.failure_mode_reject(failure_mode=mode, actor=lead, reason="Covered by 'Late start'")
    mode.refresh_from_db()
    assert (mode.status, mode.decision_reason) == ("rejected", "Covered by 'Late start'")


def test_given_a_decided_mode_when_deciding_again_then_the_transition_is_refused(
    agent, lead, stage
) -> None:
    mode = _propose(agent, stage)
    services.failure_mode_reject(failure_mode=mode, actor=lead, reason="Duplicate")

    with pytest.raises(Conflict) as refused:
        services.failure_mode_accept(failure_mode=mode, actor=lead)

    assert "rejected" in refused.value.message


def test_given_an_accepted_mode_when_a_lead_rescores_it_then_the_rpn_follows(lead) -> None:
    mode = FailureModeFactory(severity=5, occurrence=3, detection=4)

    updated = services.failure_mode_update(failure_mode=mode, actor=lead, occurrence=6)

    assert updated.rpn == 5 * 6 * 4
    assert AuditEvent.objects.filter(action="failure_mode_rescored").count() == 1


def test_given_an_agent_when_they_rescore_then_forbidden(agent) -> None:
    with pytest.raises(Forbidden):
        services.failure_mode_update(failure_mode=FailureModeFactory(), actor=agent, severity=9)


def test_given_an_accepted_mode_when_retired_then_it_leaves_the_catalog(lead) -> None:
    mode = FailureModeFactory()

    services.failure_mode_retire(failure_mode=mode, actor=lead, reason="Venue closed")

    assert FailureMode.objects.accepted().count() == 0
    with pytest.raises(Conflict):
        services.failure_mode_retire(failure_mode=mode, actor=lead)


def test_given_touchpoints_when_one_is_named_twice_for_the_same_scope_then_refused(lead) -> None:
    site = SiteFactory(code="hall")
    services.touchpoint_create(actor=lead, name="Billing")
    services.touchpoint_create(actor=lead, name="Billing", site=site)

    with pytest.raises(Conflict) as refused:
        services.touchpoint_create(actor=lead, name="billing")
    assert refused.value.field == "name"

    moved = services.touchpoint_create(actor=lead, name="Parking", position=3)
    services.touchpoint_update(touchpoint=moved, actor=lead, position=1, description="Car park")
    moved.refresh_from_db()
    assert (moved.position, moved.description) == (1, "Car park")


def test_given_an_agent_when_adding_a_touchpoint_then_forbidden(agent) -> None:
    with pytest.raises(Forbidden):
        services.touchpoint_create(actor=agent, name="Billing")


def test_only_accepted_modes_can_be_linked_to_a_case() -> None:
    proposed = FailureModeFactory(status=FailureMode.Status.PROPOSED)

    with pytest.raises(ValidationFailed) as refused:
        services.accepted_failure_mode(proposed)

    assert refused.value.field == "failure_mode_id"
    assert services.accepted_failure_mode(None) is None
