from __future__ import annotations

import pytest

from bounceback.mail.corpus import KINDS, corpus_labelled, corpus_messages
from bounceback.mail.models import InboundEmail
from bounceback.mail.services import email_receive

EXPECTED = {
    "out_of_office": InboundEmail.State.IGNORED,
    "bounce": InboundEmail.State.IGNORED,
    "no_from": InboundEmail.State.HELD,
    "garbage": InboundEmail.State.HELD,
}


def test_given_a_seed_when_generated_twice_then_the_bytes_are_the_same() -> None:
    assert list(corpus_messages(30, seed=4)) == list(corpus_messages(30, seed=4))
    assert len(set(corpus_messages(60, seed=4))) == 60


@pytest.mark.django_db
def test_given_every_quirk_when_received_then_intake_files_each_without_crashing() -> None:
    seen: dict[str, str] = {}
    for label, raw in corpus_labelled(120, seed=7):
        email = email_receive(raw=raw, source="api")
        state = EXPECTED.get(label, InboundEmail.State.ACCEPTED)
        assert email.state == state, (label, email.reason)
        seen[label] = email.state
    assert set(seen) == {label for label, _, _ in KINDS}
    assert InboundEmail.objects.count() == 120
