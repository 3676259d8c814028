"""Replies go where the customer last spoke to us, or where they prefer; staff may override."""

from __future__ import annotations

from typing import Any

import pytest

from bounceback.cases.forms import UpdateForm
from bounceback.cases.selectors import reply_channel_for
from bounceback.cases.services import case_apologise, case_send_update
from bounceback.cases.tests.conftest import SINCERE
from bounceback.errors import ValidationFailed
from bounceback.interactions.models import Interaction
from bounceback.outbox import channels
from bounceback.outbox.models import OutboundMessage
from bounceback.testing.factories import InteractionFactory

pytestmark = pytest.mark.django_db


class _RecordingAdapter:
    def __init__(self, *, available: bool = True) -> None:
        self.is_available = available

    def available(self) -> bool:
        return self.is_available

    def send(self, message: Any) -> None:
        return None


@pytest.fixture
def sms_provider(monkeypatch: pytest.MonkeyPatch) -> _RecordingAdapter:
    adapter = _RecordingAdapter()
    monkeypatch.setitem(channels._ADAPTERS, "sms", adapter)
    return adapter


@pytest.fixture
def apologised(open_case, agent):  # type: ignore[no-untyped-def]
    return case_apologise(case=open_case, actor=agent, body=SINCERE)


def test_given_the_customer_last_wrote_by_sms_when_staff_update_the_reply_goes_by_sms(
    apologised, agent, sms_provider
) -> None:  # type: ignore[no-untyped-def]
    customer = apologised.customer
    customer.phones.create(number="+15550100", is_primary=True)
    InteractionFactory(customer=customer, channel="sms", body="Any news on my car?")

    case_send_update(case=apologised, actor=agent, body="The part arrives at 3pm today.")

    message = OutboundMessage.objects.get(interaction__metadata__purpose="update")
    assert (message.channel, message.to_address) == ("sms", "+15550100")


def test_given_they_last_called_us_the_update_still_goes_out_in_writing(apologised, agent) -> None:  # type: ignore[no-untyped-def]
    # A call answered "by phone" would send nothing: the default stays written.
    InteractionFactory(customer=apologised.customer, channel="phone", body="Called about the car")

    case_send_update(case=apologised, actor=agent, body="The part arrives at 3pm today.")

    sent = Interaction.objects.get(metadata__purpose="update")
    assert sent.channel == "email"
    assert OutboundMessage.objects.filter(interaction=sent).exists()


def test_given_no_provider_for_their_last_channel_the_reply_falls_back_to_email(
    apologised, agent, sms_provider
) -> None:  # type: ignore[no-untyped-def]
    sms_provider.is_available = False
    InteractionFactory(customer=apologised.customer, channel="sms", body="Any news?")

    assert reply_channel_for(apologised) == "email"
    case_send_update(case=apologised, actor=agent, body="The part arrives at 3pm today.")
    assert OutboundMessage.objects.get(interaction__metadata__purpose="update").channel == "email"


def test_staff_can_override_the_default_but_not_with_a_channel_nobody_delivers(
    apologised, agent
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as refused:
        case_send_update(case=apologised, actor=agent, body="Update", channel="chat")
    assert refused.value.field == "channel"

    case_send_update(case=apologised, actor=agent, body="Phoned them", channel="phone")
    assert Interaction.objects.get(metadata__purpose="update").channel == "phone"


def test_the_send_by_choices_list_only_channels_that_can_deliver_now(sms_provider) -> None:
    offered = dict(UpdateForm().fields["channel"].choices)  # type: ignore[attr-defined]
    assert {"email", "sms", "phone", "in_person"} <= set(offered)
    assert "chat" not in offered

    sms_provider.is_available = False
    assert "sms" not in dict(UpdateForm().fields["channel"].choices)  # type: ignore[attr-defined]


def test_given_an_sms_customer_the_apology_form_says_it_goes_by_text_to_their_number(
    open_case, agent_client, sms_provider
) -> None:  # type: ignore[no-untyped-def]
    customer = open_case.customer
    customer.phones.create(number="+15550100", is_primary=True)
    InteractionFactory(customer=customer, channel="sms", body="My car is not ready!")

    page = agent_client.get(f"/cases/{open_case.pk}/").content.decode()

    assert '<option value="sms" selected>' in page
    # The wording shown is the one for the chosen channel; the others wait hidden.
    assert '<span data-channel="sms">Sent by text message to +15550100.</span>' in page
    assert 'data-channel="phone" hidden>Nothing is sent: say it on the call' in page
    assert "the case timeline, as said" not in page
