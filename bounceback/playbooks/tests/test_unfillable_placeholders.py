"""Placeholders nothing can fill are refused, never sent raw (issue 13).

A literal `{{ customer.first_name }}` went out in emails: staff wrote a
placeholder the renderer did not recognise (another spelling, a filter, a
message that fills nothing). Templates are refused where they are saved, with
the placeholders that exist; and the outbox, the last gate before a customer
reads anything, refuses a message that still holds one.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.errors import ValidationFailed
from bounceback.funds.services import grant_create
from bounceback.outbox.models import OutboundMessage
from bounceback.outbox.services import outbox_enqueue
from bounceback.playbooks.services import playbook_create
from bounceback.testing.funds_factories import open_case, set_policy, staff
from bounceback.testing.playbooks_factories import playbook_content

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "written",
    [
        "{{ Customer.First_Name }}",
        "{{ customer.firstname }}",
        "{{ customer.first_name|upper }}",
        "{{ customer }}",
        "{% if customer.vip %}",
    ],
)
def test_a_template_with_a_placeholder_nothing_fills_is_refused_with_those_that_exist(
    written: str,
) -> None:
    content = playbook_content()
    apology = content.templates[0]
    content = replace(
        content, templates=[replace(apology, body=f"Dear {written}, " + apology.body)]
    )

    with pytest.raises(ValidationFailed) as refused:
        playbook_create(
            actor=staff(Role.MANAGER), name="Power cut", content=content, breakdown_type="power"
        )

    assert refused.value.field == "templates[0].body"
    assert written in refused.value.message
    assert "{{ customer.first_name }}" in refused.value.message
    assert "{{ case.reference }}" in refused.value.message


def test_placeholders_written_with_other_spacing_are_filled() -> None:
    from bounceback.playbooks.templating import render, template_problems

    text = "Dear {{customer.first_name}}, about {{   case.reference }}"

    assert template_problems(text) == []
    assert render(text, {"customer.first_name": "Ada", "case.reference": "BB-1"}) == (
        "Dear Ada, about BB-1"
    )


def test_a_case_message_with_a_placeholder_is_refused_and_nothing_is_sent() -> None:
    agent = staff(Role.AGENT)
    case = open_case()
    client = Client()
    client.force_login(agent)

    response = client.post(
        f"/api/cases/{case.pk}/apologise",
        {
            "body": "Dear {{ customer.first_name }}, I am sorry: the parcel broke because we "
            "packed it badly. We will send a new one today and pack it better from now on."
        },
        content_type="application/json",
    )

    assert response.status_code == 422, response.content
    assert response.json()["field"] == "body"
    assert "{{ customer.first_name }}" in response.json()["message"]
    assert "takes no placeholders" in response.json()["message"]
    assert not OutboundMessage.objects.exists()


def test_the_outbox_never_takes_a_message_that_still_holds_a_placeholder() -> None:
    case = open_case()

    with pytest.raises(ValidationFailed) as refused:
        outbox_enqueue(
            channel="email",
            to_address="ada@example.com",
            subject="About {{ case.reference }}",
            body_text="Hello",
            customer=case.customer,
        )

    assert refused.value.field == "subject"
    assert not OutboundMessage.objects.exists()


def test_a_grant_message_takes_value_and_voucher_only() -> None:
    set_policy(Role.AGENT, per_case="100", budget="1000")
    agent = staff(Role.AGENT)
    case = open_case()

    with pytest.raises(ValidationFailed) as refused:
        grant_create(
            case=case,
            actor=agent,
            kind="refund",
            value=Decimal("10"),
            reason="Late",
            message="Dear {{ customer.name }}, here is {{ value }} back.",
        )
    granted = grant_create(
        case=case,
        actor=agent,
        kind="refund",
        value=Decimal("10"),
        reason="Late",
        message="Here is {{value}} back, with our apologies.",
    )

    assert refused.value.field == "message"
    assert "{{ value }}, {{ voucher }}" in refused.value.message
    sent = OutboundMessage.objects.get(customer=case.customer, body_text__contains="back")
    assert "{{" not in sent.body_text and "10.00 USD" in sent.body_text
    assert granted.pk
