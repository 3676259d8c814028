"""A notification that names a time names it on each reader's own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bounceback.accounts.services import user_set_time_zone
from bounceback.cases.services import case_open
from bounceback.notifications.models import Notification
from bounceback.notifications.services import notify_at
from bounceback.testing.factories import CustomerFactory, UserFactory
from bounceback.timers.services import timers_fire_due

pytestmark = pytest.mark.django_db


def test_each_reader_sees_the_time_in_their_own_zone() -> None:
    # Given one colleague in Paris and one in New York
    paris, new_york = UserFactory(), UserFactory()
    user_set_time_zone(user=paris, time_zone="Europe/Paris", actor=paris)
    user_set_time_zone(user=new_york, time_zone="America/New_York", actor=new_york)

    # When both are told of something due at 12:00 UTC on 10 March
    notify_at(
        recipients=[paris, new_york],
        kind="timer_warning",
        title=lambda due: f"BB-00001: apology due {due}",
        at=datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
    )

    # Then each reads it on their own clock, the zone named
    titles = dict(Notification.objects.values_list("recipient_id", "title"))
    assert titles == {
        paris.pk: "BB-00001: apology due 13:00 CET",
        new_york.pk: "BB-00001: apology due 08:00 EDT",
    }


def test_a_case_target_warning_names_the_assignees_clock() -> None:
    # Given a case assigned to someone in Tokyo
    tokyo = UserFactory()
    user_set_time_zone(user=tokyo, time_zone="Asia/Tokyo", actor=tokyo)
    case = case_open(customer=CustomerFactory(), summary="Late", actor=tokyo, assignee=tokyo)

    # When its apology target is near
    timers_fire_due(now=case.created_at + timedelta(minutes=50))

    # Then the warning says when it is due in Tokyo time, not UTC
    title = Notification.objects.get(recipient=tokyo, kind="timer_warning").title
    assert title.endswith(" JST") and "UTC" not in title
