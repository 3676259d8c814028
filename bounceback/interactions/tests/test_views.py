from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bounceback.accounts.models import User
from bounceback.accounts.roles import Role
from bounceback.interactions.models import Interaction
from bounceback.testing.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _call(**overrides: str) -> dict[str, str]:
    data = {
        "interaction-channel": "phone",
        "interaction-direction": "inbound",
        "interaction-subject": "Power cut during the show",
        "interaction-body": "Called to say the lights went out for 40 minutes.",
        "interaction-occurred_at": "",
    }
    data.update(overrides)
    return data


def test_logging_a_call_puts_it_on_the_timeline(agent_client: Client, agent: User) -> None:
    customer = CustomerFactory()
    url = reverse("interactions:create", args=[customer.pk])

    response = agent_client.post(url, _call(), follow=True)

    interaction = Interaction.objects.get()
    assert interaction.customer == customer
    assert interaction.channel == "phone"
    assert interaction.author == agent
    assert interaction.source == "staff"
    assert response.redirect_chain[-1][0].endswith(f"/customers/{customer.pk}/#timeline")
    html = response.content.decode()
    assert "Called to say the lights went out" in html
    assert "Interaction logged" in html


def test_htmx_post_answers_with_a_fresh_form_and_the_new_timeline(agent_client: Client) -> None:
    customer = CustomerFactory()
    url = reverse("interactions:create", args=[customer.pk])

    response = agent_client.post(url, _call(), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="interaction-entry"' in html
    assert 'id="timeline" aria-labelledby="timeline-heading" hx-swap-oob="true"' in html
    assert 'id="messages" class="messages" aria-live="polite" hx-swap-oob="true"' in html
    assert "Called to say the lights went out" in html
    # The form came back empty, ready for the next entry.
    assert "Power cut during the show</textarea>" not in html


def test_an_empty_body_is_refused_with_a_message(agent_client: Client) -> None:
    customer = CustomerFactory()
    url = reverse("interactions:create", args=[customer.pk])

    response = agent_client.post(url, _call(**{"interaction-body": ""}))

    assert response.status_code == 200
    assert "Write what was said or done." in response.content.decode()
    assert "<html" in response.content.decode()  # the whole customer page, form kept
    assert 'value="Power cut during the show"' in response.content.decode()
    assert Interaction.objects.count() == 0


def test_a_service_refusal_shows_on_its_field_under_htmx(agent_client: Client) -> None:
    customer = CustomerFactory()
    url = reverse("interactions:create", args=[customer.pk])
    tomorrow = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = agent_client.post(
        url, _call(**{"interaction-occurred_at": tomorrow}), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_interaction-occurred_at_error"' in html
    assert "occurred_at is in the future" in html
    assert Interaction.objects.count() == 0


def test_a_past_time_is_kept(agent_client: Client) -> None:
    customer = CustomerFactory()
    when = timezone.localtime() - timedelta(days=2)

    agent_client.post(
        reverse("interactions:create", args=[customer.pk]),
        _call(**{"interaction-occurred_at": when.strftime("%Y-%m-%dT%H:%M")}),
    )

    stored = Interaction.objects.get().occurred_at
    assert abs(stored - when.replace(second=0, microsecond=0)) < timedelta(seconds=1)


def test_only_post_and_only_with_permission(client: Client) -> None:
    from django.contrib.auth.models import Group

    customer = CustomerFactory()
    url = reverse("interactions:create", args=[customer.pk])
    viewer = UserFactory(role=Role.AGENT)
    viewer.groups.set([Group.objects.get_or_create(name="read-only")[0]])
    client.force_login(viewer)

    assert client.post(url, _call()).status_code == 403
    client.force_login(UserFactory(role=Role.AGENT))
    assert client.get(url).status_code == 405
    assert Interaction.objects.count() == 0


def test_csrf_is_enforced(agent: User) -> None:
    customer = CustomerFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    response = client.post(reverse("interactions:create", args=[customer.pk]), _call())

    assert response.status_code == 403
    assert Interaction.objects.count() == 0
