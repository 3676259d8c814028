from __future__ import annotations

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.accounts.services import team_create, user_create, user_set_role, user_set_team
from bounceback.audit.models import AuditEvent
from bounceback.errors import Conflict, ValidationFailed
from bounceback.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_a_new_user_gets_the_permissions_of_their_role() -> None:
    lead = user_create(username="lee", password=PASSWORD, role="lead")
    agent = user_create(username="ann", password=PASSWORD, role="agent")

    assert lead.has_perm("imports.run_import")
    assert not agent.has_perm("imports.run_import")
    assert agent.has_perm("customers.add_customer")
    assert not agent.has_perm("audit.view_auditevent")


def test_admins_can_do_everything() -> None:
    admin = user_create(username="root", password=PASSWORD, role="admin")

    assert admin.is_superuser and admin.is_staff
    assert admin.has_perm("apitokens.add_apitoken")


def test_weak_passwords_unknown_roles_and_duplicates_are_refused() -> None:
    user_create(username="taken", password=PASSWORD)

    with pytest.raises(ValidationFailed) as weak:
        user_create(username="new", password="1234")
    with pytest.raises(ValidationFailed) as role:
        user_create(username="new", password=PASSWORD, role="overlord")
    with pytest.raises(Conflict):
        user_create(username="TAKEN", password=PASSWORD)

    assert weak.value.field == "password"
    assert role.value.field == "role"


def test_role_and_team_changes_are_audited() -> None:
    admin = UserFactory(role=Role.ADMIN)
    user = UserFactory(role=Role.AGENT)
    team = team_create(name="Venue crew")

    user_set_role(user=user, role="manager", actor=admin)
    user_set_team(user=user, team=team, actor=admin)

    user.refresh_from_db()
    assert user.has_perm("audit.view_auditevent")
    change = AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_CHANGED).get()
    assert change.actor == admin
    assert change.data == {"before": "agent", "after": "manager"}
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.TEAM_CHANGED, target=f"user:{user.username}"
    ).exists()


def test_group_changes_made_outside_the_services_are_audited_too() -> None:
    from django.contrib.auth.models import Group

    user = UserFactory(role=Role.AGENT)
    AuditEvent.objects.all().delete()

    user.groups.add(Group.objects.get(name="admin"))

    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.PERMISSIONS_CHANGED, target=f"user:{user.username}"
    ).exists()


def test_sign_in_and_out_are_audited() -> None:
    user = UserFactory()
    client = Client()

    assert client.login(username=user.username, password=PASSWORD)
    client.logout()

    actions = list(AuditEvent.objects.filter(actor=user).values_list("action", flat=True))
    assert set(actions) >= {"login", "logout"}
