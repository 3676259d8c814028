"""Scenarios and drills for tests, built through the drills services."""

from __future__ import annotations

from typing import Any

from bounceback.accounts.roles import Role
from bounceback.drills.models import Drill, Scenario
from bounceback.drills.services import (
    InjectInput,
    ParticipantInput,
    drill_create,
    drill_start,
    scenario_create,
)
from bounceback.testing.factories import UserFactory
from bounceback.testing.failuremodes_factories import FailureModeFactory
from bounceback.testing.playbooks_factories import make_playbook


def inject(**overrides: Any) -> InjectInput:
    values: dict[str, Any] = {
        "customer_name": "Morgan Reyes",
        "summary": "The show stopped halfway",
        "message": "The power went out and nobody told us anything.",
        "offset_minutes": 0,
    }
    values.update(overrides)
    return InjectInput(**values)


def make_scenario(**overrides: Any) -> Scenario:
    """A scenario of two injects (at 0 and 10 minutes) on a playbook of a high-risk mode."""
    manager: Any = overrides.pop("actor", None) or UserFactory(role=Role.MANAGER)
    playbook = overrides.pop("playbook", None) or make_playbook(
        failure_mode=FailureModeFactory(severity=9, occurrence=5, detection=5)
    )
    injects = overrides.pop("injects", None) or [
        inject(),
        inject(customer_name="Dana Whitfield", persona="vip", offset_minutes=10),
    ]
    return scenario_create(
        actor=manager,
        playbook=playbook,
        title=overrides.pop("title", "Power cut mid-show"),
        injects=injects,
        **overrides,
    )


def make_drill(*, start: bool = True, **overrides: Any) -> Drill:
    """A live drill (started unless start=False) with one responder (an agent)."""
    manager: Any = overrides.pop("actor", None) or UserFactory(role=Role.MANAGER)
    scenario = overrides.pop("scenario", None) or make_scenario(actor=manager)
    responder: Any = overrides.pop("responder", None) or UserFactory(role=Role.AGENT)
    drill = drill_create(
        actor=manager,
        scenario=scenario,
        participants=[ParticipantInput(user=responder)],
        **overrides,
    )
    if start:
        drill = drill_start(drill=drill, actor=manager)
    return drill
