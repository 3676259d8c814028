"""Every page in the viewer's zone: staff in theirs, customers in the portal in theirs."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape

import pytest
from django.test import Client, override_settings

from bounceback.accounts.selectors import user_time_zone
from bounceback.accounts.services import user_set_time_zone
from bounceback.cases.services import case_open
from bounceback.errors import Forbidden, ValidationFailed
from bounceback.portal.views import SESSION_KEY
from bounceback.testing.factories import CustomerFactory, SiteFactory, UserFactory

# 12:00 UTC on 10 March 2026: 13:00 in Paris, 08:00 in New York, 21:00 in Tokyo.
NOON_UTC = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def opened(db: None):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Mina Sato")
    customer.time_zone = "Asia/Tokyo"
    customer.save(update_fields=["time_zone"])
    return case_open(customer=customer, summary="Table not ready", actor=None, opened_at=NOON_UTC)


def _page(user, path: str) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return unescape(client.get(path, {"view": "all"}).content.decode())


def test_two_people_in_two_zones_see_the_same_case_on_their_own_clocks(opened) -> None:  # type: ignore[no-untyped-def]
    paris = UserFactory(time_zone="Europe/Paris")
    new_york = UserFactory(time_zone="America/New_York")

    in_paris = _page(paris, "/cases/")
    in_new_york = _page(new_york, "/cases/")

    assert "10 Mar, 13:00" in in_paris
    assert "10 Mar, 08:00" in in_new_york
    assert "Time zone: Europe/Paris" in in_paris
    assert "Time zone: America/New_York" in in_new_york


@override_settings(TIME_ZONE="Europe/Lisbon")
def test_no_choice_follows_the_site_then_the_installation(db: None) -> None:
    downtown = SiteFactory(time_zone="America/Chicago")

    assert user_time_zone(UserFactory(site=downtown)) == "America/Chicago"
    assert user_time_zone(UserFactory()) == "Europe/Lisbon"
    assert user_time_zone(UserFactory(site=downtown, time_zone="Asia/Dubai")) == "Asia/Dubai"


def test_people_choose_their_own_zone_and_only_known_ones(db: None) -> None:
    me = UserFactory()
    colleague = UserFactory()

    user_set_time_zone(user=me, time_zone="Australia/Perth", actor=me)
    with pytest.raises(ValidationFailed) as refused:
        user_set_time_zone(user=me, time_zone="Mars/Olympus", actor=me)
    with pytest.raises(Forbidden):
        user_set_time_zone(user=me, time_zone="UTC", actor=colleague)

    me.refresh_from_db()
    assert me.time_zone == "Australia/Perth"
    assert refused.value.field == "time_zone"


def test_the_time_zone_page_saves_the_choice(db: None) -> None:
    me = UserFactory()
    client = Client()
    client.force_login(me)

    saved = client.post("/accounts/time-zone/", {"time_zone": "Asia/Kolkata"}, follow=True)
    refused = client.post("/accounts/time-zone/", {"time_zone": "Nowhere/Land"})

    assert "Times now show in Asia/Kolkata." in unescape(saved.content.decode())
    assert refused.status_code == 200
    assert "Nowhere/Land" in unescape(refused.content.decode())
    me.refresh_from_db()
    assert me.time_zone == "Asia/Kolkata"


def test_a_customer_sees_their_own_clock_in_the_portal(opened) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    session = client.session
    session[SESSION_KEY] = opened.customer_id
    session.save()

    html = unescape(client.get(f"/portal/cases/{opened.reference}/").content.decode())
    home = unescape(client.get("/portal/").content.decode())

    assert "10 Mar 2026, 21:00" in html, html[:2000]
    assert "Mina" in home


@override_settings(TIME_ZONE="America/New_York")
def test_breakdown_messages_name_the_clock_they_tell_the_time_on(db: None) -> None:
    from types import SimpleNamespace

    from bounceback.playbooks.templating import breakdown_values

    lisbon = SiteFactory(time_zone="Europe/Lisbon")
    at_site = breakdown_values(
        SimpleNamespace(
            title="Power cut", reference="BD-1", site=lisbon, window_start=NOON_UTC, window_end=None
        )
    )
    no_site = breakdown_values(
        SimpleNamespace(
            title="Power cut", reference="BD-2", site=None, window_start=NOON_UTC, window_end=None
        )
    )

    assert at_site["window.start"] == "Tuesday 10 March at 12:00 WET"
    assert no_site["window.start"] == "Tuesday 10 March at 08:00 EDT"
