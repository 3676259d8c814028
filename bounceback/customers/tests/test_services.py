from __future__ import annotations

import pytest

from bounceback.customers.models import Customer
from bounceback.customers.services import ExternalIdentity, customer_create, customer_update
from bounceback.errors import Conflict, ValidationFailed
from bounceback.testing.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_identities_are_normalised_so_lookups_match() -> None:
    customer = customer_create(
        name="  Ada Lovelace ",
        emails=["Ada@Example.COM"],
        phones=["+44 (20) 7946-0958", "0044 20 7946 0959"],
    )

    assert customer.name == "Ada Lovelace"
    assert [e.address for e in customer.emails.all()] == ["Ada@example.com"]
    assert [p.number for p in customer.phones.all()] == ["+442079460958", "+442079460959"]
    assert Customer.objects.search("ada@example").get() == customer
    assert Customer.objects.search("7946 0959").get() == customer


def test_one_email_belongs_to_one_customer_whatever_its_case() -> None:
    first = customer_create(name="First", emails=["shared@example.com"])

    with pytest.raises(Conflict) as refused:
        customer_create(name="Second", emails=["other@example.com", "SHARED@example.com"])

    assert refused.value.field == "emails[1]"
    assert refused.value.code == "duplicate_identity"
    assert str(first.pk) in refused.value.message
    assert not Customer.objects.filter(name="Second").exists()


def test_phone_and_external_id_are_unique_too() -> None:
    customer_create(
        name="First",
        phones=["+1 555 0100 200"],
        external_ids=[ExternalIdentity(source="bookings", external_id="C-1")],
    )

    with pytest.raises(Conflict) as phone:
        customer_create(name="Second", phones=["+15550100200"])
    with pytest.raises(Conflict) as external:
        customer_create(
            name="Third", external_ids=[ExternalIdentity(source="bookings", external_id="C-1")]
        )

    assert phone.value.field == "phones[0]"
    assert external.value.field == "external_ids[0]"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"emails": ["not-an-email"]}, "emails[0]"),
        ({"phones": ["12"]}, "phones[0]"),
        ({"preferred_channel": "pigeon"}, "preferred_channel"),
        ({"locale": "english please"}, "locale"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"emails": ["a@example.com", "A@example.com"]}, "emails[1]"),
    ],
)
def test_bad_profile_values_are_refused_with_the_field(changes: dict, field: str) -> None:
    data = {"name": "Valid Name", **changes}

    with pytest.raises(ValidationFailed) as refused:
        customer_create(**data)

    assert refused.value.field == field
    assert Customer.objects.count() == 0


def test_update_replaces_identities_and_keeps_them_unique() -> None:
    other = CustomerFactory(email="taken@example.com")
    customer = customer_create(name="Grace", emails=["grace@example.com"])

    customer_update(
        customer=customer, emails=["grace@navy.mil", "hopper@example.com"], locale="en-US"
    )
    with pytest.raises(Conflict):
        customer_update(customer=customer, emails=["taken@example.com"])

    customer.refresh_from_db()
    assert [e.address for e in customer.emails.all()] == ["grace@navy.mil", "hopper@example.com"]
    assert customer.locale == "en-US"
    assert other.emails.get().address == "taken@example.com"


def test_update_may_keep_the_customers_own_email() -> None:
    customer = customer_create(name="Grace", emails=["grace@example.com"])

    customer_update(customer=customer, emails=["GRACE@example.com"], name="Grace Hopper")

    customer.refresh_from_db()
    assert customer.name == "Grace Hopper"
    assert customer.emails.get().address == "GRACE@example.com"


def test_an_overlong_name_is_refused_not_truncated() -> None:
    with pytest.raises(ValidationFailed) as refused:
        customer_create(name="x" * 201)

    assert refused.value.field == "name"
