from __future__ import annotations

import pytest

from bounceback.apitokens.models import ApiToken
from bounceback.apitokens.services import token_authenticate, token_create, token_revoke
from bounceback.audit.models import AuditEvent
from bounceback.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.django_db


def test_only_a_hash_of_the_token_is_stored(admin_user) -> None:
    token, plaintext = token_create(
        name="bookings", scopes=["transactions:write"], actor=admin_user
    )

    stored = ApiToken.objects.get()
    assert plaintext not in (stored.secret_hash, stored.prefix, stored.name)
    assert plaintext.split("_", 2)[2] not in stored.secret_hash
    assert token_authenticate(plaintext=plaintext) == token
    assert token_authenticate(plaintext=plaintext + "x") is None


def test_revoking_stops_the_token_and_both_acts_are_audited(admin_user) -> None:
    token, plaintext = token_create(name="shop", scopes=["customers:read"], actor=admin_user)

    token_revoke(prefix=token.prefix, actor=admin_user)

    assert token_authenticate(plaintext=plaintext) is None
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"token_created", "token_revoked"} <= actions


def test_scopes_must_be_known_and_present() -> None:
    with pytest.raises(ValidationFailed) as unknown:
        token_create(name="x", scopes=["everything"], actor=None)
    with pytest.raises(ValidationFailed) as empty:
        token_create(name="x", scopes=[], actor=None)
    with pytest.raises(NotFound):
        token_revoke(prefix="nope", actor=None)

    assert "everything" in unknown.value.message
    assert empty.value.field == "scopes"
    assert ApiToken.objects.count() == 0
