"""Fixtures every app's tests share."""

from __future__ import annotations

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.apitokens.services import token_create
from bounceback.testing.factories import UserFactory

# The browser tests' fixtures (`page`, `browser`, `screenshot_dir`).
pytest_plugins = ["bounceback.testing.browser"]


@pytest.fixture(autouse=True)
def _roles(db: None) -> None:
    # Role groups are normally written after migrate; the test database is
    # migrated once, then each test rolls back, so write them per test.
    from bounceback.accounts.services import roles_sync

    roles_sync()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    # The production hasher is slow on purpose; tests only need it to be correct.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def agent(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.AGENT)


@pytest.fixture
def admin_user(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.ADMIN)


@pytest.fixture
def lead(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.LEAD)


@pytest.fixture
def lead_client(lead) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(lead)
    return client


@pytest.fixture
def agent_client(agent) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(agent)
    return client


class TokenClient(Client):
    """A test client that sends a bearer token on every request."""

    def __init__(self, token: str, **kwargs: object):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs)  # type: ignore[arg-type]
        self.token = token


@pytest.fixture
def make_token_client(db: None):  # type: ignore[no-untyped-def]
    def make(*scopes: str) -> TokenClient:
        _, plaintext = token_create(name="test", scopes=list(scopes), actor=None)
        return TokenClient(plaintext)

    return make


@pytest.fixture
def api(make_token_client) -> TokenClient:  # type: ignore[no-untyped-def]
    """A token client with every CRM scope."""
    return make_token_client("customers:write", "transactions:write", "interactions:write")
