from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("login"), {"username": username, "password": password})


def test_signing_in_with_the_right_password_lands_on_home() -> None:
    user = UserFactory()
    client = Client()

    response = _sign_in(client, user.username, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get("/").status_code == 200


def test_sign_in_follows_next() -> None:
    user = UserFactory()
    client = Client()

    response = client.post(
        reverse("login") + "?next=/customers/",
        {"username": user.username, "password": PASSWORD, "next": "/customers/"},
    )

    assert response["Location"] == "/customers/"


def test_a_wrong_password_shows_an_error() -> None:
    user = UserFactory()

    response = _sign_in(Client(), user.username, "not it")

    assert response.status_code == 200
    html = response.content.decode()
    assert "username and password don&#x27;t match" in html
    assert "Too many failed sign-ins" not in html


def test_after_five_failures_sign_in_says_it_is_throttled(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    user = UserFactory()
    client = Client(REMOTE_ADDR="198.51.100.20")

    for _ in range(4):
        html = _sign_in(client, user.username, "wrong").content.decode()
        assert "Too many failed sign-ins" not in html
    fifth = _sign_in(client, user.username, "wrong").content.decode()
    assert "Too many failed sign-ins; try again in 15 minutes." in fifth

    # Even the right password is refused now, with the same clear message.
    response = _sign_in(client, user.username, PASSWORD)
    assert response.status_code == 200
    assert "Too many failed sign-ins; try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_THROTTLED).count() == 1


def test_sign_out_is_a_post() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get("/").status_code == 302


def test_the_page_header_has_a_sign_out_form_and_password_link(agent_client: Client) -> None:
    html = agent_client.get("/").content.decode()

    assert f'action="{reverse("logout")}"' in html
    assert f'href="{reverse("password_change")}"' in html


def test_password_change_checks_the_old_password_and_records_it() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    new = "a much longer passphrase 42"

    wrong = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": new, "new_password2": new},
    )
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["old_password"]

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Your password has been changed." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(new)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PASSWORD_CHANGED, actor=user).exists()


def test_staff_list_is_for_admins(agent_client: Client, admin_client: Client) -> None:
    UserFactory(username="zed", role=Role.LEAD)

    assert agent_client.get(reverse("staff_list")).status_code == 403
    response = admin_client.get(reverse("staff_list"))

    assert response.status_code == 200
    assert "zed" in response.content.decode()
    assert "Team lead" in response.content.decode()


def test_staff_list_query_count_does_not_grow(
    admin_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    UserFactory.create_batch(30)

    with django_assert_max_num_queries(8):
        admin_client.get(reverse("staff_list"))


def test_admin_changes_a_role(admin_client: Client, admin_user: User) -> None:
    person = UserFactory(role=Role.AGENT)

    response = admin_client.post(
        reverse("staff_set_role", args=[person.pk]), {"role": Role.MANAGER}, follow=True
    )

    person.refresh_from_db()
    assert person.role == Role.MANAGER
    assert person.groups.filter(name=Role.MANAGER).exists()
    assert "is now Manager" in response.content.decode()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.ROLE_CHANGED, actor=admin_user
    ).exists()


def test_admins_cannot_change_their_own_role(admin_client: Client, admin_user: User) -> None:
    response = admin_client.post(
        reverse("staff_set_role", args=[admin_user.pk]), {"role": Role.AGENT}, follow=True
    )

    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN
    assert "can&#x27;t change your own role" in response.content.decode()


def test_agents_cannot_change_roles(agent_client: Client) -> None:
    person = UserFactory(role=Role.AGENT)

    response = agent_client.post(reverse("staff_set_role", args=[person.pk]), {"role": "admin"})

    assert response.status_code == 403
    person.refresh_from_db()
    assert person.role == Role.AGENT


def test_signing_out_says_so_on_the_sign_in_page() -> None:
    client = Client()
    client.force_login(UserFactory())

    response = client.post(reverse("logout"), follow=True)

    assert "You have signed out." in response.content.decode()
