"""Importing customers: new ones created, known ones updated by identity, clashes refused."""

from __future__ import annotations

import pytest

from bounceback.customers.models import Customer, CustomerEmail
from bounceback.customers.services import ExternalIdentity, customer_create
from bounceback.imports.services import import_csv

from .conftest import WriteCsv

pytestmark = pytest.mark.django_db


def emails_of(customer: Customer) -> list[str]:
    return [e.address for e in customer.emails.all()]


def test_new_customers_are_created_with_all_their_identities(write_csv: WriteCsv) -> None:
    # Given a file of two customers, one with two emails and a phone
    ada_row = (
        "Ada Lovelace,ada@example.com; ada.work@example.org,+44 20 7946 0958,C-1,Email,"
        'en-GB,Europe/London,vip; old-school,"Prefers letters.\nWrites long ones."'
    )
    grace_row = "Grace Hopper,grace@example.com,,C-2,in person,en-US,America/New_York,,"
    header = "name,email,phone,external_id,preferred_channel,locale,time_zone,tags,notes"
    path = write_csv("\n".join([header, ada_row, grace_row]) + "\n")

    # When it is imported
    result = import_csv(kind="customers", path=path, source="crm")

    # Then both exist, with every identity and profile field
    assert result.run.rows_created == 2 and not result.rejections
    ada = Customer.objects.get(name="Ada Lovelace")
    assert emails_of(ada) == ["ada@example.com", "ada.work@example.org"]
    assert [p.number for p in ada.phones.all()] == ["+442079460958"]
    assert [(e.source, e.external_id) for e in ada.external_ids.all()] == [("crm", "C-1")]
    assert (ada.preferred_channel, ada.locale, ada.time_zone) == ("email", "en-GB", "Europe/London")
    assert ada.tags == ["old-school", "vip"]
    assert ada.notes == "Prefers letters.\nWrites long ones."
    assert Customer.objects.get(name="Grace Hopper").preferred_channel == "in_person"


def test_a_row_repeating_an_email_from_an_earlier_row_is_rejected(write_csv: WriteCsv) -> None:
    # Given a file where line 4 uses the email of line 2
    path = write_csv(
        """
        name,email
        Ada Lovelace,ada@example.com
        Grace Hopper,grace@example.com
        Ada L.,ADA@example.com
        """
    )

    # When it is imported
    result = import_csv(kind="customers", path=path)

    # Then the later row is refused, pointing at the earlier one
    assert Customer.objects.count() == 2
    [rejection] = result.rejections
    assert (rejection.line, rejection.field, rejection.column) == (4, "emails", "email")
    assert "line 2" in rejection.message
    assert Customer.objects.filter(name="Ada L.").count() == 0


def test_a_row_matching_a_stored_customer_updates_that_customer(write_csv: WriteCsv) -> None:
    # Given Ada is stored, tagged by staff, without an id in the shop
    ada = customer_create(name="Ada", emails=["ada@example.com"], tags=["vip"])
    path = write_csv(
        """
        name,email,external_id,tags,locale
        Ada Lovelace,ada@example.com,S-77,newsletter,
        """
    )

    # When the shop's customer list is imported
    result = import_csv(kind="customers", path=path, source="shop")

    # Then Ada is updated, not duplicated: new name, shop id and tag added, nothing lost
    assert result.run.rows_updated == 1 and Customer.objects.count() == 1
    ada.refresh_from_db()
    assert ada.name == "Ada Lovelace"
    assert ada.tags == ["newsletter", "vip"]
    assert [(e.source, e.external_id) for e in ada.external_ids.all()] == [("shop", "S-77")]
    assert ada.locale == "en"  # a blank cell keeps what is stored

    # ...and importing the same file again changes nothing
    again = import_csv(kind="customers", path=path, source="shop")
    assert again.run.rows_unchanged == 1 and again.run.rows_updated == 0


def test_a_row_mixing_two_stored_customers_is_rejected_and_changes_nothing(
    write_csv: WriteCsv,
) -> None:
    # Given Ada holds shop id S-1 and Grace holds grace@example.com
    ada = customer_create(
        name="Ada", emails=["ada@example.com"], external_ids=[ExternalIdentity("shop", "S-1")]
    )
    customer_create(name="Grace", emails=["grace@example.com"])
    path = write_csv(
        """
        external_id,email,name
        S-1,grace@example.com,Someone
        """
    )

    # When a row claims Ada's id with Grace's email
    result = import_csv(kind="customers", path=path, source="shop")

    # Then it is rejected, naming both, and neither customer changed
    [rejection] = result.rejections
    assert rejection.line == 2
    assert "Ada" in rejection.message and "Grace" in rejection.message
    ada.refresh_from_db()
    assert ada.name == "Ada" and emails_of(ada) == ["ada@example.com"]
    assert CustomerEmail.objects.get(address="grace@example.com").customer.name == "Grace"


def test_an_email_matching_a_customer_with_another_id_from_that_source_is_rejected(
    write_csv: WriteCsv,
) -> None:
    # Given Ada is S-1 in the shop
    customer_create(
        name="Ada", emails=["ada@example.com"], external_ids=[ExternalIdentity("shop", "S-1")]
    )

    # When a row gives her email with shop id S-2
    path = write_csv("external_id,email,name\nS-2,ada@example.com,Ada\n")
    result = import_csv(kind="customers", path=path, source="shop")

    # Then the row is refused rather than giving Ada two shop ids
    [rejection] = result.rejections
    assert rejection.field == "external_id" and "S-1" in rejection.message


def test_invalid_values_are_reported_with_the_column_they_came_from(write_csv: WriteCsv) -> None:
    # Given rows with a bad email, an unknown channel, an unknown time zone, no name
    path = write_csv(
        """
        Full name,E-mail,Channel,Zone
        Ada,not-an-email,,
        Grace,grace@example.com,pigeon,
        Alan,alan@example.com,,Mars/Olympus
        ,nobody@example.com,,
        Linus,linus@example.com,email,Europe/Helsinki
        """
    )

    # When imported with a column map
    result = import_csv(
        kind="customers",
        path=path,
        column_map={
            "Full name": "name",
            "E-mail": "email",
            "Channel": "channel",
            "Zone": "time_zone",
        },
    )

    # Then only the valid row is stored and each bad one names its column
    assert list(Customer.objects.values_list("name", flat=True)) == ["Linus"]
    assert [(r.line, r.column) for r in result.rejections] == [
        (2, "E-mail"),
        (3, "Channel"),
        (4, "Zone"),
        (5, "Full name"),
    ]


def test_a_phone_already_held_by_another_customer_is_rejected(write_csv: WriteCsv) -> None:
    # Given Ada holds a phone number
    customer_create(name="Ada", emails=["ada@example.com"], phones=["+1 410 555 0100"])

    # When a new customer in the file gives the same number
    path = write_csv("name,email,phone\nGrace,grace@example.com,+1 410 555 0100\n")
    result = import_csv(kind="customers", path=path)

    # Then the row is refused with the service's reason, and Grace is not created
    [rejection] = result.rejections
    assert rejection.field == "phones" and "already belongs" in rejection.message
    assert not Customer.objects.filter(name="Grace").exists()
