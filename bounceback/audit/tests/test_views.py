from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bounceback.accounts.roles import Role
from bounceback.audit.models import AuditEvent
from bounceback.audit.services import audit_record
from bounceback.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/audit/"


def test_audit_log_needs_the_view_permission(client: Client) -> None:
    client.force_login(UserFactory(role=Role.AGENT))
    assert client.get(URL).status_code == 403

    for role in (Role.MANAGER, Role.EXECUTIVE, Role.ADMIN):
        client.force_login(UserFactory(role=role))
        assert client.get(URL).status_code == 200


def test_audit_log_lists_events_newest_first_and_filters_by_action(client: Client) -> None:
    manager = UserFactory(role=Role.MANAGER, username="morgan")
    audit_record(action=AuditEvent.Action.LOGIN_FAILED, actor_label="mallory", target="user:root")
    audit_record(action=AuditEvent.Action.TOKEN_CREATED, actor=manager, target="token:abcd1234")
    client.force_login(manager)

    everything = client.get(URL)
    actions = [e.action for e in everything.context["events"]]
    # Signing in is itself audited, so it comes first.
    assert actions[:3] == ["login", "token_created", "login_failed"]

    failed = client.get(URL, {"action": "login_failed"})
    assert [e.actor_label for e in failed.context["events"]] == ["mallory"]
    html = failed.content.decode()
    assert "Sign-in failed" in html
    assert "user:root" in html

    by_person = client.get(URL, {"q": "abcd1234"})
    assert [e.action for e in by_person.context["events"]] == ["token_created"]


def test_an_unknown_action_filter_is_reported_not_a_500(client: Client) -> None:
    client.force_login(UserFactory(role=Role.MANAGER))

    response = client.get(URL, {"action": "nonsense"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_audit_log_is_paginated_and_query_count_does_not_grow(
    client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(UserFactory(role=Role.MANAGER))
    for i in range(120):
        audit_record(action=AuditEvent.Action.LOGIN, actor_label=f"user{i}")

    with django_assert_max_num_queries(8):
        response = client.get(URL)
    assert len(response.context["events"]) == 50
    assert "Page 1 of 3" in response.content.decode()
    assert client.get(reverse("audit:list"), {"page": 3}).status_code == 200
