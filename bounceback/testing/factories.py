"""factory_boy factories shared by every app's tests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from bounceback.accounts.models import Team, User
from bounceback.accounts.roles import Role
from bounceback.customers.models import Customer, CustomerEmail, CustomerPhone
from bounceback.interactions.models import Interaction
from bounceback.sites.models import Site
from bounceback.transactions.models import Transaction

PASSWORD = "correct horse battery staple"  # noqa: S105 (test-only credential)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user in the given role (groups set as the services would)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.AGENT

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def groups(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if not create:
            return
        from django.contrib.auth.models import Group

        obj.groups.set([Group.objects.get_or_create(name=obj.role)[0]])
        if obj.role == Role.ADMIN:
            obj.is_staff = obj.is_superuser = True
            obj.save(update_fields=["is_staff", "is_superuser"])


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"site-{n}")
    name = factory.LazyAttribute(lambda s: s.code.replace("-", " ").title())


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Faker("name")

    @factory.post_generation
    def email(obj: Customer, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted is not False:
            address = extracted or f"customer{obj.pk}@example.com"
            CustomerEmail.objects.create(customer=obj, address=address, is_primary=True)

    @factory.post_generation
    def phone(obj: Customer, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            CustomerPhone.objects.create(customer=obj, number=extracted, is_primary=True)


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    customer = factory.SubFactory(CustomerFactory)
    kind = Transaction.Kind.ORDER
    source = "test"
    external_id = factory.Sequence(lambda n: f"T-{n}")
    amount = Decimal("25.00")
    currency = "USD"
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    status = Transaction.Status.COMPLETED


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    direction = Interaction.Direction.INBOUND
    body = factory.Faker("sentence")
    occurred_at = factory.LazyFunction(timezone.now)


def transaction_body(customer_id: int, /, **overrides: Any) -> dict[str, Any]:
    """A valid body for POST /api/transactions/ (or one bulk item), with `overrides`."""
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": "order",
        "amount": "12.00",
        "currency": "USD",
        "occurred_at": "2026-05-01T09:00:00+02:00",
    }
    body.update(overrides)
    return body
