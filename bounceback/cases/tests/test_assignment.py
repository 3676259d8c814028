"""Assignment: assign to me, a team's automatic assignment, and the colleague-on-it warning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bounceback.accounts.models import Team
from bounceback.accounts.roles import Role
from bounceback.accounts.services import team_set_assignment
from bounceback.cases.models import Case, CaseViewer
from bounceback.cases.services import case_open, case_viewed, case_viewers_prune
from bounceback.errors import ValidationFailed
from bounceback.testing.factories import CustomerFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _open(team: Team | None = None, assignee=None) -> Case:  # type: ignore[no-untyped-def]
    return case_open(
        customer=CustomerFactory(),
        summary="Late delivery",
        actor=None,
        team=team,
        assignee=assignee,
    )


@pytest.fixture
def team(db: None) -> Team:
    return TeamFactory(name="Front desk")


@pytest.fixture
def members(team):  # type: ignore[no-untyped-def]
    return [UserFactory(team=team, role=Role.AGENT) for _ in range(3)]


def test_given_a_manual_team_then_its_new_cases_wait_unassigned(team, members) -> None:  # type: ignore[no-untyped-def]
    case = _open(team=team)
    assert case.assignee is None and case.team == team


def test_given_round_robin_then_each_member_gets_a_case_in_turn(team, members) -> None:  # type: ignore[no-untyped-def]
    team_set_assignment(team=team, assignment=Team.Assignment.ROUND_ROBIN, actor=None)

    assignees = [_open(team=team).assignee for _ in range(4)]

    assert assignees == [members[0], members[1], members[2], members[0]]


def test_given_round_robin_then_disabled_members_are_skipped(team, members) -> None:  # type: ignore[no-untyped-def]
    team_set_assignment(team=team, assignment=Team.Assignment.ROUND_ROBIN, actor=None)
    members[1].is_active = False
    members[1].save(update_fields=["is_active"])

    assignees = [_open(team=team).assignee for _ in range(3)]

    assert assignees == [members[0], members[2], members[0]]


def test_given_least_loaded_then_the_member_with_fewest_open_cases_gets_it(team, members) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        _open(assignee=members[0])
    _open(assignee=members[2])
    team_set_assignment(team=team, assignment=Team.Assignment.LEAST_LOADED, actor=None)

    first = _open(team=team).assignee
    second = _open(team=team).assignee

    assert first == members[1]
    # Now members[1] and [2] have one each: the rota decides, after members[1].
    assert second == members[2]


def test_given_a_named_assignee_then_the_team_rule_does_not_apply(team, members) -> None:  # type: ignore[no-untyped-def]
    team_set_assignment(team=team, assignment=Team.Assignment.ROUND_ROBIN, actor=None)
    outsider = UserFactory()
    assert _open(team=team, assignee=outsider).assignee == outsider


def test_an_unknown_assignment_mode_is_refused(team) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        team_set_assignment(team=team, assignment="lottery", actor=None)
    assert refused.value.field == "assignment"


def test_managers_set_a_teams_rule_on_the_teams_page(team) -> None:  # type: ignore[no-untyped-def]
    manager = UserFactory(role=Role.MANAGER)
    client = Client()
    client.force_login(manager)

    response = client.post(
        reverse("team_assignment", args=[team.pk]), {"assignment": "least_loaded"}
    )

    assert response.status_code == 302
    team.refresh_from_db()
    assert team.assignment == "least_loaded"
    page = client.get(reverse("team_list")).content.decode()
    assert "Front desk" in page
    agent = Client()
    agent.force_login(UserFactory(role=Role.AGENT))
    assert agent.post(reverse("team_assignment", args=[team.pk]), {}).status_code == 403


def test_assign_to_me_gives_the_case_to_the_person_who_pressed_it(agent, agent_client) -> None:  # type: ignore[no-untyped-def]
    case = _open()
    page = agent_client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Assign to me" in page

    agent_client.post(reverse("cases:assign", args=[case.pk]), {"assignee": agent.pk})

    case.refresh_from_db()
    assert case.assignee == agent
    page = agent_client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Assign to me" not in page


def test_given_a_colleague_on_the_case_then_the_page_warns(agent, agent_client) -> None:  # type: ignore[no-untyped-def]
    case = _open()
    colleague = UserFactory(first_name="Rosa", last_name="Diaz")
    case_viewed(case=case, user=colleague)

    page = agent_client.get(reverse("cases:detail", args=[case.pk])).content.decode()

    assert "Rosa Diaz has this case open" in page
    # The agent's own visit is remembered for the colleague, and not shown to themselves.
    assert CaseViewer.objects.filter(case=case, user=agent).exists()
    again = agent_client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert f"{agent.display_name} has this case open" not in again


def test_given_an_old_visit_then_no_warning_and_housekeeping_forgets_it(agent_client) -> None:  # type: ignore[no-untyped-def]
    case = _open()
    colleague = UserFactory(first_name="Rosa", last_name="Diaz")
    case_viewed(case=case, user=colleague, at=timezone.now() - timedelta(hours=1))

    page = agent_client.get(reverse("cases:detail", args=[case.pk])).content.decode()

    assert "has this case open" not in page
    assert case_viewers_prune() == 1
    assert not CaseViewer.objects.filter(user=colleague).exists()


def test_the_case_page_always_opens_a_step(agent, agent_client) -> None:  # type: ignore[no-untyped-def]
    from bounceback.cases.services import case_apologise, case_mark_fixed

    from .conftest import SINCERE

    case = _open(assignee=agent)
    response = agent_client.get(reverse("cases:detail", args=[case.pk]))
    assert response.context["open_step"] == "apologise"

    case = case_apologise(case=case, actor=agent, body=SINCERE)
    case = case_mark_fixed(case=case, actor=agent, fix_summary="Rebooked")
    # In the cool-off there is no "next" step: the follow-up (with its early reason) opens.
    response = agent_client.get(reverse("cases:detail", args=[case.pk]))
    assert response.context["open_step"] is not None
    assert 'id="step-' + response.context["open_step"] + '" open' in response.content.decode()
