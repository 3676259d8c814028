from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.apitokens.models import ApiToken
from bounceback.apitokens.services import token_authenticate, token_create
from bounceback.audit.models import AuditEvent
from bounceback.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/settings/tokens/"


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEAD, Role.MANAGER, Role.EXECUTIVE])
def test_tokens_pages_are_forbidden_to_everyone_but_admins(client: Client, role: str) -> None:
    token, _ = token_create(name="sync", scopes=["customers:read"], actor=None)
    client.force_login(UserFactory(role=role))

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"name": "x", "scopes": ["customers:read"]}).status_code == 403
    assert client.post(reverse("apitokens:revoke", args=[token.prefix])).status_code == 403
    assert ApiToken.objects.count() == 1
    assert ApiToken.objects.get().revoked_at is None


def test_admin_creates_a_token_and_sees_the_secret_once(
    admin_client: Client, admin_user: User
) -> None:
    response = admin_client.post(
        URL, {"name": "Booking sync", "scopes": ["transactions:write", "customers:read"]}
    )

    assert response.status_code == 200
    html = response.content.decode()
    match = re.search(r'<code id="new-token">(bb_[^<]+)</code>', html)
    assert match, "the plaintext token is shown after creation"
    plaintext = match.group(1)
    token = ApiToken.objects.get()
    assert token.scopes == ["customers:read", "transactions:write"]
    assert token.created_by == admin_user
    assert plaintext not in token.secret_hash
    assert token_authenticate(plaintext=plaintext) == token
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_CREATED)
    assert event.actor == admin_user
    assert event.target == f"token:{token.prefix}"

    # Shown once: the list never shows it again.
    again = admin_client.get(URL).content.decode()
    assert plaintext not in again
    assert "Booking sync" in again
    assert f"bb_{token.prefix}_" in again


def test_create_form_lists_every_scope_as_a_checkbox(admin_client: Client) -> None:
    from django.utils.html import escape

    from bounceback.apitokens.scopes import SCOPES

    html = admin_client.get(URL).content.decode()

    for scope, description in SCOPES.items():
        assert f'type="checkbox" name="scopes" value="{scope}"' in html
        # As the page shows it: an apostrophe arrives as &#x27;.
        assert escape(description) in html


def test_a_token_needs_a_name_and_a_scope(admin_client: Client) -> None:
    response = admin_client.post(URL, {"name": "", "scopes": []})

    form = response.context["form"]
    assert form.errors["name"]
    assert form.errors["scopes"] == ["Choose at least one scope."]
    assert 'id="id_scopes_error"' in response.content.decode()
    assert ApiToken.objects.count() == 0
    assert "new-token" not in response.content.decode()


def test_revoking_asks_first_then_revokes_and_audits(
    admin_client: Client, admin_user: User
) -> None:
    token, plaintext = token_create(name="Old shop", scopes=["customers:read"], actor=None)
    url = reverse("apitokens:revoke", args=[token.prefix])

    confirm = admin_client.get(url)
    assert confirm.status_code == 200
    assert "Revoke “Old shop”?" in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None

    response = admin_client.post(url, follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_authenticate(plaintext=plaintext) is None
    assert response.redirect_chain[-1][0] == URL
    assert "revoked" in response.content.decode()
    event = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_REVOKED)
    assert event.actor == admin_user


def test_revoking_an_unknown_token_is_404(admin_client: Client) -> None:
    assert admin_client.get(reverse("apitokens:revoke", args=["nope"])).status_code == 404


def test_tokens_page_query_count_does_not_grow(
    admin_client: Client, admin_user: User, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(25):
        token_create(name=f"t{i}", scopes=["customers:read"], actor=admin_user)

    with django_assert_max_num_queries(6):
        admin_client.get(URL)
