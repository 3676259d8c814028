from __future__ import annotations

import pytest

from bounceback.demo.mail import load_mail
from bounceback.interactions.models import Interaction
from bounceback.mail.models import InboundEmail


@pytest.mark.django_db
def test_given_the_demo_when_loaded_twice_then_a_thread_an_ignored_and_a_held_email() -> None:
    load_mail()
    load_mail()

    states = dict(InboundEmail.objects.values_list("message_id", "state"))
    assert states == {
        "demo-charged-twice@example.net": "accepted",
        "demo-charged-twice-2@example.net": "accepted",
        "demo-away@example.org": "ignored",
        "demo-broken@example.invalid": "held",
    }
    thread = InboundEmail.objects.filter(state="accepted")
    assert len({email.case_id for email in thread}) == 1
    assert Interaction.objects.filter(direction="inbound").count() == 2
