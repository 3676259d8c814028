"""The notifications page and the bell in the header."""

from __future__ import annotations

import pytest
from django.test import Client

from bounceback.notifications.models import Notification
from bounceback.notifications.services import notify
from bounceback.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def test_the_bell_shows_the_unread_count(agent_client: Client, agent) -> None:  # type: ignore[no-untyped-def]
    assert "bell__count" not in _html(agent_client.get("/"))

    notify(recipients=[agent], kind="timer_warning", title="BB-00001: apology due 14:20 UTC")
    notify(recipients=[agent], kind="timer_breached", title="BB-00002: apology overdue")
    notify(recipients=[UserFactory()], kind="timer_breached", title="Someone else's")

    html = _html(agent_client.get("/"))
    assert '<span class="bell__count">2</span>' in html
    assert 'aria-label="Notifications: 2 unread"' in html


def test_the_list_shows_only_my_notifications_newest_first(
    agent_client: Client,
    agent,  # type: ignore[no-untyped-def]
) -> None:
    notify(recipients=[agent], kind="timer_warning", title="First", body="Older one")
    notify(recipients=[agent], kind="timer_breached", title="Second", url="/cases/1/")
    notify(recipients=[UserFactory()], kind="timer_breached", title="Not mine")

    response = agent_client.get("/notifications/")

    assert [n.title for n in response.context["notifications"]] == ["Second", "First"]
    html = _html(response)
    assert "Not mine" not in html
    assert "Older one" in html
    assert html.count("note--unread") == 2
    assert "Mark all as read" in html


def test_mark_one_read_and_then_all(agent_client: Client, agent) -> None:  # type: ignore[no-untyped-def]
    notify(recipients=[agent], kind="timer_warning", title="One")
    notify(recipients=[agent], kind="timer_warning", title="Two")
    notify(recipients=[agent], kind="timer_warning", title="Three")
    one = Notification.objects.get(title="One")

    response = agent_client.post(
        f"/notifications/{one.pk}/read/", {"next": "/notifications/?unread=1"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/notifications/?unread=1"
    one.refresh_from_db()
    assert one.read_at is not None
    unread = agent_client.get("/notifications/?unread=1")
    assert [n.title for n in unread.context["notifications"]] == ["Three", "Two"]

    all_read = agent_client.post("/notifications/read/")
    assert all_read.status_code == 302
    assert not Notification.objects.filter(recipient=agent, read_at__isnull=True).exists()
    page = _html(agent_client.get(all_read["Location"]))
    assert "Marked 2 notifications as read." in page
    assert "bell__count" not in page


def test_opening_a_notification_marks_it_read_and_follows_its_link(
    agent_client: Client,
    agent,  # type: ignore[no-untyped-def]
) -> None:
    notify(recipients=[agent], kind="timer_breached", title="Go", url="/cases/7/")
    notify(recipients=[agent], kind="timer_breached", title="Away", url="https://evil.example/")
    go = Notification.objects.get(title="Go")
    away = Notification.objects.get(title="Away")

    response = agent_client.get(f"/notifications/{go.pk}/")
    elsewhere = agent_client.get(f"/notifications/{away.pk}/")

    assert response.status_code == 302
    assert response["Location"] == "/cases/7/"
    go.refresh_from_db()
    assert go.read_at is not None
    # A link to another site is never followed.
    assert elsewhere["Location"] == "/notifications/"


def test_someone_elses_notification_is_not_found(agent_client: Client) -> None:
    notify(recipients=[UserFactory()], kind="timer_warning", title="Private")
    theirs = Notification.objects.get()

    assert agent_client.get(f"/notifications/{theirs.pk}/").status_code == 404
    assert agent_client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_read_never_redirects_off_site(agent_client: Client, agent) -> None:  # type: ignore[no-untyped-def]
    notify(recipients=[agent], kind="timer_warning", title="One")
    note = Notification.objects.get()

    response = agent_client.post(
        f"/notifications/{note.pk}/read/", {"next": "https://evil.example/"}
    )

    assert response["Location"] == "/notifications/"


def test_an_empty_list_says_so(agent_client: Client) -> None:
    assert "No notifications yet." in _html(agent_client.get("/notifications/"))
    assert "You're all caught up." in _html(agent_client.get("/notifications/?unread=1"))
