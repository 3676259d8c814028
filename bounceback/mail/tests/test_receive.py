from __future__ import annotations

import pytest

from bounceback.cases.models import Case
from bounceback.interactions.models import Interaction
from bounceback.mail.models import InboundEmail
from bounceback.mail.services import email_receive
from bounceback.testing.mail_factories import raw_email

pytestmark = pytest.mark.django_db


def test_given_a_new_thread_when_received_then_a_case_opens_for_a_new_customer() -> None:
    email = email_receive(raw=raw_email(), source="api")

    assert email.state == InboundEmail.State.ACCEPTED
    case = Case.objects.get()
    assert email.case == case
    assert case.customer.name == "Dana Whitfield"
    assert case.customer.primary_email == "dana@example.net"
    assert case.summary == "My order never arrived"
    message = Interaction.objects.get(case=case)
    assert message.direction == Interaction.Direction.INBOUND
    assert message.source == "email"
    assert message.external_id == email.message_id
    assert "kettle" in message.body
    assert email.interaction == message


def test_given_the_same_message_twice_when_received_then_it_is_stored_once() -> None:
    raw = raw_email()
    first = email_receive(raw=raw, source="imap:INBOX")
    second = email_receive(raw=raw, source="smtp")

    assert second.pk == first.pk
    assert InboundEmail.objects.count() == 1
    assert Interaction.objects.count() == 1


def test_given_a_known_sender_when_a_new_thread_arrives_then_it_is_filed_in_few_queries(
    django_assert_max_num_queries,
) -> None:
    # Given Dana already wrote once (she is a customer now)
    email_receive(raw=raw_email(subject="First"), source="api")

    # When she starts another thread, it is filed without repeated look-ups:
    # id-only duplicate checks, one customer look-up, no attachment reads. (The new
    # case and the message each hand themselves to discovery's rules: two inserts.)
    with django_assert_max_num_queries(30):
        email = email_receive(raw=raw_email(subject="Second"), source="api")

    assert email.state == InboundEmail.State.ACCEPTED
    assert Case.objects.filter(customer=email.customer).count() == 2


def test_given_a_message_seen_before_when_received_again_then_two_reads_return_the_first(
    django_assert_max_num_queries,
) -> None:
    raw = raw_email()
    first = email_receive(raw=raw, source="imap:INBOX")

    with django_assert_max_num_queries(2):
        again = email_receive(raw=raw, source="smtp")

    assert again.pk == first.pk
    assert Interaction.objects.count() == 1
