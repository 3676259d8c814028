from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.customers.models import CustomerExternalId
from bounceback.interactions.models import Interaction
from bounceback.testing.factories import CustomerFactory
from bounceback.testing.webhooks_factories import InboundChannelFactory
from bounceback.webhooks.models import InboundChannel
from bounceback.webhooks.services import channel_rotate_secret
from bounceback.webhooks.signing import signed_headers

pytestmark = pytest.mark.django_db


def _post(
    channel: InboundChannel,
    document: Any,
    *,
    secret: str | None = None,
    now: float | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> Any:
    body = raw if raw is not None else json.dumps(document).encode()
    signed = signed_headers(secret=secret or channel.secret, body=body, now=now)
    sent = headers if headers is not None else signed
    return Client().post(
        f"/hooks/{channel.slug}/",
        data=body,
        content_type="application/json",
        headers=sent,
    )


def _message(
    message_id: str = "m-1",
    *,
    sender: str = "u-42",
    thread: str = "t-1",
    text: str = "Where is my order?",
) -> dict[str, Any]:
    return {
        "id": message_id,
        "sender": {"id": sender, "name": "Ada Lovelace"},
        "text": text,
        "thread": thread,
        "timestamp": int(time.time()) - 5,
    }


@pytest.fixture
def chat() -> InboundChannel:
    return InboundChannelFactory(slug="webchat", kind=InboundChannel.Kind.CHAT)


def test_given_a_signed_message_when_posted_then_a_case_is_opened_for_a_new_customer(chat) -> None:
    response = _post(chat, _message())

    assert response.status_code == 202
    answer = response.json()
    assert answer["status"] == "accepted"
    case = Case.objects.get(reference=answer["case"])
    assert case.channel == "chat"
    assert case.customer.name == "Ada Lovelace"
    interaction = Interaction.objects.get(pk=answer["interaction"])
    assert interaction.case_id == case.pk
    assert interaction.source == "hook:webchat"
    assert interaction.external_id == "m-1"
    assert interaction.metadata["sender"] == "u-42"
    assert interaction.metadata["thread"] == "t-1"
    assert CustomerExternalId.objects.filter(
        customer=case.customer, source="hook:webchat", external_id="u-42"
    ).exists()


def test_given_the_same_message_twice_then_the_second_is_a_duplicate_and_nothing_changes(
    chat,
) -> None:
    _post(chat, _message())

    response = _post(chat, _message())

    assert response.status_code == 200
    assert response.json() == {"status": "duplicate"}
    assert Interaction.objects.filter(source="hook:webchat").count() == 1
    assert Case.objects.count() == 1


def test_given_an_open_conversation_when_the_customer_writes_again_then_it_joins_the_case(
    chat,
) -> None:
    first = _post(chat, _message("m-1")).json()

    second = _post(chat, _message("m-2", text="Any news?")).json()

    assert second["case"] == first["case"]
    case = Case.objects.get(reference=first["case"])
    assert case.interactions.filter(direction="inbound").count() == 2


def test_given_a_new_conversation_then_a_new_case_opens_for_the_same_customer(chat) -> None:
    first = _post(chat, _message("m-1", thread="t-1")).json()

    second = _post(chat, _message("m-2", thread="t-2")).json()

    assert second["case"] != first["case"]
    cases = Case.objects.filter(reference__in=[first["case"], second["case"]])
    assert len({c.customer_id for c in cases}) == 1


def test_given_the_conversations_case_is_closed_then_a_new_case_opens(chat) -> None:
    first = _post(chat, _message("m-1")).json()
    Case.objects.filter(reference=first["case"]).update(status=Case.Status.CLOSED)

    second = _post(chat, _message("m-2")).json()

    assert second["case"] != first["case"]


def test_given_an_sms_from_a_known_phone_then_the_customer_is_found_by_number() -> None:
    sms = InboundChannelFactory(
        slug="sms",
        kind=InboundChannel.Kind.SMS,
        mapping={"message_id": "MessageSid", "sender_id": "From", "text": "Body"},
    )
    known = CustomerFactory(name="Grace Hopper", phone="+447700900123")

    response = _post(sms, {"MessageSid": "SM1", "From": "+44 7700 900123", "Body": "Late again"})

    assert response.status_code == 202
    case = Case.objects.get(reference=response.json()["case"])
    assert case.customer_id == known.pk
    assert case.channel == "sms"


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({}, "X-Bounceback-Timestamp"),
        ({"X-Bounceback-Timestamp": "now"}, "X-Bounceback-Signature"),
        (
            # "fresh" becomes the time the test runs, not the time it was collected.
            {"X-Bounceback-Timestamp": "fresh", "X-Bounceback-Signature": "sha256=00"},
            "X-Bounceback-Signature",
        ),
    ],
)
def test_given_a_missing_or_bad_signature_then_401_names_the_header(chat, headers, field) -> None:
    if headers.get("X-Bounceback-Timestamp") == "fresh":
        headers = {**headers, "X-Bounceback-Timestamp": str(int(time.time()))}
    response = _post(chat, _message(), headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"
    assert response.json()["field"] == field
    assert not Interaction.objects.exists()


def test_given_a_body_signed_with_another_secret_then_401(chat) -> None:
    response = _post(chat, _message(), secret="whsec_someone_else")

    assert response.status_code == 401
    assert "does not match" in response.json()["message"]


def test_given_a_stale_timestamp_then_401_even_with_a_right_signature(chat) -> None:
    response = _post(chat, _message(), now=time.time() - 600)

    assert response.status_code == 401
    assert response.json()["field"] == "X-Bounceback-Timestamp"


def test_given_a_rotated_secret_then_the_old_one_still_works_during_the_grace(
    chat, admin_user
) -> None:
    old = chat.secret
    chat = channel_rotate_secret(channel=chat, actor=admin_user)

    assert _post(chat, _message("m-1"), secret=old).status_code == 202
    assert _post(chat, _message("m-2"), secret=chat.secret).status_code == 202
    InboundChannel.objects.filter(pk=chat.pk).update(
        previous_secret_until=timezone.now() - timedelta(seconds=1)
    )
    chat.refresh_from_db()
    assert _post(chat, _message("m-3"), secret=old).status_code == 401


def test_given_an_unknown_or_inactive_channel_then_404(chat) -> None:
    InboundChannel.objects.filter(pk=chat.pk).update(active=False)

    response = _post(chat, _message())

    assert response.status_code == 404
    assert (
        Client().post("/hooks/nope/", data=b"{}", content_type="application/json").status_code
        == 404
    )


def test_given_a_body_that_is_not_json_then_400_names_the_body(chat) -> None:
    response = _post(chat, None, raw=b"not json")

    assert response.status_code == 400
    assert response.json()["field"] == "body"


def test_given_a_mapped_field_missing_then_400_names_it_and_its_path() -> None:
    sms = InboundChannelFactory(slug="sms2", kind="sms", mapping={"text": "data.Body"})

    response = _post(sms, {"id": "x1", "sender": {"id": "+447700900999"}, "data": {}})

    assert response.status_code == 400
    assert response.json()["field"] == "text"
    assert "data.Body" in response.json()["message"]


def test_given_a_bad_timestamp_field_then_400_names_it(chat) -> None:
    document = _message()
    document["timestamp"] = "yesterday-ish"

    response = _post(chat, document)

    assert response.status_code == 400
    assert response.json()["field"] == "timestamp"


def test_given_a_body_over_the_limit_then_413(chat, settings) -> None:
    settings.BOUNCEBACK_WEBHOOK_INBOUND_MAX_BYTES = 100

    response = _post(chat, _message(text="x" * 200))

    assert response.status_code == 413
    assert not Interaction.objects.exists()


def test_given_a_nested_provider_format_then_the_mapping_reads_lists_and_millis() -> None:
    channel = InboundChannelFactory(
        slug="social",
        kind="social",
        mapping={
            "message_id": "entry.0.message.mid",
            "sender_id": "entry.0.sender.id",
            "text": "entry.0.message.text",
            "timestamp": "entry.0.timestamp",
        },
    )
    millis = int((time.time() - 60) * 1000)
    document = {
        "entry": [
            {
                "sender": {"id": "psid-9"},
                "message": {"mid": "mid.1", "text": "Hi"},
                "timestamp": millis,
            }
        ]
    }

    response = _post(channel, document)

    assert response.status_code == 202
    interaction = Interaction.objects.get(pk=response.json()["interaction"])
    assert interaction.metadata["thread"] == "psid-9"
    assert abs(interaction.occurred_at.timestamp() - millis / 1000) < 1


@pytest.mark.parametrize("timestamp", ["2024-02-30T10:00:00", "²", 10**400, "9" * 5000])
def test_odd_but_signed_timestamps_are_a_400_naming_the_field(chat, timestamp) -> None:  # type: ignore[no-untyped-def]
    document = {**_message(), "timestamp": timestamp}

    response = _post(chat, document)

    assert response.status_code == 400
    assert response.json()["field"] in {"timestamp", "body"}
    assert not Interaction.objects.exists()


def test_an_email_typed_into_a_chat_never_joins_the_customer_who_owns_it(chat) -> None:  # type: ignore[no-untyped-def]
    victim = CustomerFactory(name="Victim", email="victim@example.com")
    document = {
        **_message(),
        "sender": {"id": "u-666", "name": "Mallory", "email": "victim@example.com"},
    }

    response = _post(chat, document)

    assert response.status_code == 202
    case = Case.objects.get()
    assert case.customer != victim
    assert "victim@example.com" in case.customer.notes
    assert not victim.external_ids.exists()
