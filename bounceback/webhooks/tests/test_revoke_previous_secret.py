"""After a rotation the old inbound secret works for 24 hours, unless revoked at once."""

from __future__ import annotations

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.testing.factories import UserFactory
from bounceback.testing.webhooks_factories import InboundChannelFactory
from bounceback.webhooks.models import InboundChannel
from bounceback.webhooks.services import channel_revoke_previous_secret, channel_rotate_secret
from bounceback.webhooks.tests.test_inbound import _message, _post

pytestmark = pytest.mark.django_db

REVOKED = AuditEvent.Action.CHANNEL_PREVIOUS_SECRET_REVOKED


@pytest.fixture
def rotated(admin_user) -> tuple[InboundChannel, str]:
    channel = InboundChannelFactory(slug="webchat", kind=InboundChannel.Kind.CHAT)
    old = channel.secret
    channel = channel_rotate_secret(channel=channel, actor=admin_user)
    assert _post(channel, _message("m-0"), secret=old).status_code == 202
    return channel, old


def test_given_a_leaked_old_secret_when_revoked_then_it_stops_at_once_and_is_audited(
    rotated, admin_user
) -> None:
    channel, old = rotated

    channel = channel_revoke_previous_secret(channel=channel, actor=admin_user)

    assert _post(channel, _message("m-1"), secret=old).status_code == 401
    assert _post(channel, _message("m-2"), secret=channel.secret).status_code == 202
    audit = AuditEvent.objects.get(action=REVOKED)
    assert audit.actor == admin_user
    assert audit.target == "channel webchat"
    # Revoking again changes nothing and is not audited twice.
    channel_revoke_previous_secret(channel=channel, actor=admin_user)
    assert AuditEvent.objects.filter(action=REVOKED).count() == 1


def test_given_the_api_then_revoking_the_old_secret_works_and_needs_the_write_scope(
    rotated, make_token_client
) -> None:
    channel, old = rotated
    url = f"/api/webhooks/channels/{channel.pk}/revoke-previous-secret"

    refused = make_token_client("webhooks:read").post(url)
    done = make_token_client("webhooks:write").post(url)

    assert refused.status_code == 403
    assert done.status_code == 200
    assert done.json()["previous_secret_until"] is None
    assert channel.secret not in done.content.decode()
    assert _post(channel, _message("m-1"), secret=old).status_code == 401


def test_given_the_channel_page_then_its_button_revokes_the_old_secret(rotated) -> None:
    channel, old = rotated
    client = Client()
    client.force_login(UserFactory(role=Role.ADMIN))
    page = client.get(f"/integrations/channels/{channel.pk}/").content.decode()
    assert "Revoke the old secret now" in page

    response = client.post(f"/integrations/channels/{channel.pk}/revoke-previous/", follow=True)

    assert response.status_code == 200
    assert "Revoke the old secret now" not in response.content.decode()
    assert "The previous secret no longer works" in response.content.decode()
    assert _post(channel, _message("m-1"), secret=old).status_code == 401
