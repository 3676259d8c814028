"""The business-hours page: create a calendar and choose which sites use it."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from bounceback.accounts.roles import Role
from bounceback.testing.factories import SiteFactory, UserFactory
from bounceback.timers.models import BusinessCalendar

pytestmark = pytest.mark.django_db

WEEK = {f"day_{n}": "09:00-17:30" for n in range(5)}


@pytest.fixture
def manager_client(client: Client) -> Client:
    client.force_login(UserFactory(role=Role.MANAGER))
    return client


def test_only_managers_keep_calendars(agent_client: Client) -> None:
    assert agent_client.get("/settings/calendars/").status_code == 403
    site = SiteFactory()
    assert agent_client.post("/settings/calendars/sites/", {"site": site.pk}).status_code == 403


def test_create_a_calendar_with_hours_and_holidays(manager_client: Client) -> None:
    response = manager_client.post(
        "/settings/calendars/",
        {
            "name": "Box office",
            "time_zone": "Europe/London",
            **WEEK,
            "day_5": "10:00-12:00, 13:00-16:00",
            "holidays": "2026-12-25 Christmas Day\n2026-12-26",
        },
    )

    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get()
    assert calendar.time_zone == "Europe/London"
    assert calendar.hours["0"] == [["09:00", "17:30"]]
    assert calendar.hours["5"] == [["10:00", "12:00"], ["13:00", "16:00"]]
    assert "6" not in calendar.hours
    assert [(h.date, h.name) for h in calendar.holidays.all()] == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 26), ""),
    ]
    page = manager_client.get("/settings/calendars/").content.decode()
    assert "Box office" in page
    assert "09:00\u201317:30" in page
    assert "Christmas Day" in page


def test_calendar_mistakes_come_back_on_their_fields(manager_client: Client) -> None:
    bad_text = manager_client.post(
        "/settings/calendars/",
        {"name": "Shop", "time_zone": "UTC", "day_0": "nine to five", "holidays": "Christmas"},
    )
    overlap = manager_client.post(
        "/settings/calendars/",
        {"name": "Shop", "time_zone": "UTC", "day_2": "09:00-13:00, 12:00-17:00"},
    )
    bad_zone = manager_client.post(
        "/settings/calendars/", {"name": "Shop", "time_zone": "Mars/Olympus", **WEEK}
    )

    assert "is not like 09:00-17:30" in bad_text.context["form"].errors["day_0"][0]
    assert "does not start with a date" in bad_text.context["form"].errors["holidays"][0]
    assert "intervals overlap" in overlap.context["form"].errors["day_2"][0]
    assert "unknown time zone" in bad_zone.context["form"].errors["time_zone"][0]
    assert BusinessCalendar.objects.count() == 0


def test_attach_a_calendar_to_a_site_and_detach_it(manager_client: Client) -> None:
    from bounceback.timers.services import calendar_create

    calendar = calendar_create(name="Office", time_zone="UTC", hours={"0": [["09:00", "17:00"]]})
    site = SiteFactory(name="Downtown")

    attached = manager_client.post(
        "/settings/calendars/sites/", {"site": site.pk, "calendar": calendar.pk}
    )
    site.refresh_from_db()
    assert site.calendar == calendar
    assert "count in “Office” hours" in manager_client.get(attached["Location"]).content.decode()

    manager_client.post("/settings/calendars/sites/", {"site": site.pk, "calendar": ""})
    site.refresh_from_db()
    assert site.calendar is None
