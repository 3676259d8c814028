"""A signed inbound webhook with a body no database stores is a 400 naming it (issue 13)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bounceback.cases.models import Case
from bounceback.testing.webhooks_factories import InboundChannelFactory
from bounceback.webhooks.models import InboundChannel
from bounceback.webhooks.signing import signed_headers

pytestmark = pytest.mark.django_db


def _post(channel: InboundChannel, body: bytes) -> object:
    return Client().post(
        f"/hooks/{channel.slug}/",
        data=body,
        content_type="application/json",
        headers=signed_headers(secret=channel.secret, body=body),
    )


def _message(**overrides: object) -> dict:
    message = {"id": "m-1", "sender": {"id": "u-42", "name": "Ada"}, "text": "Where is it?"}
    message.update(overrides)
    return message


@pytest.fixture
def chat() -> InboundChannel:
    return InboundChannelFactory(slug="webchat", kind=InboundChannel.Kind.CHAT)


def test_signed_json_nested_a_thousand_levels_is_refused(chat: InboundChannel) -> None:
    body = json.dumps(_message())[:-1] + ', "extra": ' + "[" * 1000 + "]" * 1000 + "}"

    response = _post(chat, body.encode())

    assert response.status_code == 400, response.content
    assert "nests deeper than" in response.json()["message"]
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("text", "field"), [("Where\\u0000 is it?", "body.text"), ("Where \\udfff", "body.text")]
)
def test_nul_or_a_lone_surrogate_in_the_text_is_refused_naming_it(
    chat: InboundChannel, text: str, field: str
) -> None:
    body = json.dumps(_message(text="PLACEHOLDER")).replace("PLACEHOLDER", text).encode()

    response = _post(chat, body)

    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert not Case.objects.exists()


@pytest.mark.parametrize("timestamp", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+05:00"])
def test_a_timestamp_outside_the_years_is_refused(chat: InboundChannel, timestamp: str) -> None:
    response = _post(chat, json.dumps(_message(timestamp=timestamp)).encode())

    assert response.status_code == 400, response.content
    assert response.json()["field"] == "timestamp"
