from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.functions import Lower

from bounceback.changes import changes_apply
from bounceback.customers.models import (
    Channel,
    Customer,
    CustomerEmail,
    CustomerExternalId,
    CustomerPhone,
)
from bounceback.errors import Conflict, ValidationFailed

if TYPE_CHECKING:
    from bounceback.drills.models import Drill

NAME_MAX = 200
_LOCALE = re.compile(r"^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8})*$")
_PHONE_JUNK = re.compile(r"[\s\-().\/]")


@dataclass(frozen=True)
class ExternalIdentity:
    source: str
    external_id: str


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def email_normalise(*, address: str, field: str = "email") -> str:
    """The address with its domain lower-cased; refuses one that is not an email address."""
    address = address.strip()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationFailed(f"{address!r} is not a valid email address", field=field) from None
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def phone_normalise(*, number: str, field: str = "phone") -> str:
    """+ and digits only; refuses anything that cannot be a phone number."""
    raw = _PHONE_JUNK.sub("", number.strip())
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    digits = raw.removeprefix("+")
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        raise ValidationFailed(f"{number!r} is not a valid phone number", field=field)
    return raw


def _check_profile(
    *, preferred_channel: str | None, locale: str | None, time_zone: str | None
) -> None:
    if preferred_channel is not None and preferred_channel not in Channel.values:
        raise ValidationFailed(
            f"unknown channel {preferred_channel!r}; choose one of {', '.join(Channel.values)}",
            field="preferred_channel",
        )
    if locale is not None and not _LOCALE.match(locale):
        raise ValidationFailed(f"{locale!r} is not a locale such as en or fr-CA", field="locale")
    if time_zone is not None and time_zone not in _time_zones():
        raise ValidationFailed(
            f"unknown time zone {time_zone!r}; use an IANA name such as Europe/London",
            field="time_zone",
        )


def _clean_identities(
    *,
    emails: Sequence[str] | None,
    phones: Sequence[str] | None,
    external_ids: Sequence[ExternalIdentity] | None,
    customer: Customer | None,
) -> tuple[list[str] | None, list[str] | None, list[ExternalIdentity] | None]:
    """Normalise identities and refuse any another customer already holds."""
    others = Customer.objects.exclude(pk=customer.pk) if customer else Customer.objects.all()
    clean_emails: list[str] | None = None
    if emails is not None:
        clean_emails = []
        for i, address in enumerate(emails):
            normalised = email_normalise(address=address, field=f"emails[{i}]")
            if normalised.lower() in (e.lower() for e in clean_emails):
                raise ValidationFailed(f"{normalised} is listed twice", field=f"emails[{i}]")
            clean_emails.append(normalised)
        lowered = [e.lower() for e in clean_emails]
        taken = (
            CustomerEmail.objects.annotate(lower=Lower("address"))
            .filter(lower__in=lowered, customer__in=others)
            .select_related("customer")
            .first()
        )
        if taken:
            index = lowered.index(taken.address.lower())
            raise Conflict(
                f"{taken.address} already belongs to customer {taken.customer_id} "
                f"({taken.customer.name}); one email, one customer",
                field=f"emails[{index}]",
                code="duplicate_identity",
            )
    clean_phones: list[str] | None = None
    if phones is not None:
        clean_phones = []
        for i, number in enumerate(phones):
            normalised = phone_normalise(number=number, field=f"phones[{i}]")
            if normalised in clean_phones:
                raise ValidationFailed(f"{normalised} is listed twice", field=f"phones[{i}]")
            clean_phones.append(normalised)
        taken_phone = (
            CustomerPhone.objects.filter(number__in=clean_phones, customer__in=others)
            .select_related("customer")
            .first()
        )
        if taken_phone:
            raise Conflict(
                f"{taken_phone.number} already belongs to customer {taken_phone.customer_id} "
                f"({taken_phone.customer.name}); one phone number, one customer",
                field=f"phones[{clean_phones.index(taken_phone.number)}]",
                code="duplicate_identity",
            )
    clean_ext: list[ExternalIdentity] | None = None
    if external_ids is not None:
        clean_ext = []
        for i, ext in enumerate(external_ids):
            source, value = ext.source.strip(), ext.external_id.strip()
            if not source or not value:
                raise ValidationFailed(
                    "an external id needs a source and an id", field=f"external_ids[{i}]"
                )
            item = ExternalIdentity(source=source, external_id=value)
            if item in clean_ext:
                raise ValidationFailed(
                    f"{source}:{value} is listed twice", field=f"external_ids[{i}]"
                )
            clean_ext.append(item)
            if CustomerExternalId.objects.filter(
                source=source, external_id=value, customer__in=others
            ).exists():
                raise Conflict(
                    f"{source}:{value} already belongs to another customer",
                    field=f"external_ids[{i}]",
                    code="duplicate_identity",
                )
    return clean_emails, clean_phones, clean_ext


def _write_identities(
    *,
    customer: Customer,
    emails: list[str] | None,
    phones: list[str] | None,
    external_ids: list[ExternalIdentity] | None,
    replace: bool = True,
) -> None:
    """Store the given identity lists; with `replace`, they replace the old ones."""
    if emails is not None:
        if replace:
            customer.emails.all().delete()
        CustomerEmail.objects.bulk_create(
            [
                CustomerEmail(customer=customer, address=a, is_primary=i == 0)
                for i, a in enumerate(emails)
            ]
        )
    if phones is not None:
        if replace:
            customer.phones.all().delete()
        CustomerPhone.objects.bulk_create(
            [
                CustomerPhone(customer=customer, number=n, is_primary=i == 0)
                for i, n in enumerate(phones)
            ]
        )
    if external_ids is not None:
        if replace:
            customer.external_ids.all().delete()
        CustomerExternalId.objects.bulk_create(
            [
                CustomerExternalId(customer=customer, source=e.source, external_id=e.external_id)
                for e in external_ids
            ]
        )


def _identity_conflict() -> Conflict:
    # Reached only when a concurrent request took the identity between our check
    # and our write; the unique constraints keep the data right either way.
    return Conflict(
        "an email, phone or external id was just taken by another customer",
        code="duplicate_identity",
    )


def customer_create(
    *,
    name: str,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    external_ids: Sequence[ExternalIdentity] = (),
    preferred_channel: str = Channel.EMAIL,
    locale: str = "en",
    time_zone: str = "UTC",
    notes: str = "",
    tags: Sequence[str] = (),
    drill: Drill | None = None,
) -> Customer:
    """A customer with their identities on each channel.

    A `drill`'s synthetic customer is sandboxed: nothing sent to them leaves
    the outbox and no segment or report counts them (bounceback/drills).
    Refuses an empty name, malformed emails or phones, and any identity
    (email, phone, external id) that already belongs to another customer
    (a Conflict naming it): identities are what joins messages to customers."""
    name = name.strip()
    if not name:
        raise ValidationFailed("a customer needs a name", field="name")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"the name is longer than {NAME_MAX} characters", field="name")
    _check_profile(preferred_channel=preferred_channel, locale=locale, time_zone=time_zone)
    clean_emails, clean_phones, clean_ext = _clean_identities(
        emails=emails, phones=phones, external_ids=external_ids, customer=None
    )
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                name=name,
                preferred_channel=preferred_channel,
                locale=locale,
                time_zone=time_zone,
                notes=notes,
                tags=sorted({t.strip() for t in tags if t.strip()}),
                lifetime_value_currency=settings.BOUNCEBACK_CURRENCY,
                drill=drill,
            )
            _write_identities(
                customer=customer,
                emails=clean_emails,
                phones=clean_phones,
                external_ids=clean_ext,
                replace=False,
            )
            _segments_refresh(customer.pk)
    except IntegrityError:
        raise _identity_conflict() from None
    return customer


_UPDATABLE = {"name", "preferred_channel", "locale", "time_zone", "notes", "tags"}


def customer_update(
    *,
    customer: Customer,
    emails: Sequence[str] | None = None,
    phones: Sequence[str] | None = None,
    external_ids: Sequence[ExternalIdentity] | None = None,
    **changes: Any,
) -> Customer:
    """Change the given fields; identity lists, when given, replace the old ones."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}", field=min(unknown))
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
        if not changes["name"]:
            raise ValidationFailed("a customer needs a name", field="name")
        if len(changes["name"]) > NAME_MAX:
            raise ValidationFailed(f"the name is longer than {NAME_MAX} characters", field="name")
    if "tags" in changes:
        changes["tags"] = sorted({str(t).strip() for t in changes["tags"] if str(t).strip()})
    _check_profile(
        preferred_channel=changes.get("preferred_channel"),
        locale=changes.get("locale"),
        time_zone=changes.get("time_zone"),
    )
    clean_emails, clean_phones, clean_ext = _clean_identities(
        emails=emails, phones=phones, external_ids=external_ids, customer=customer
    )
    try:
        with transaction.atomic():
            changes_apply(customer, changes)
            _write_identities(
                customer=customer, emails=clean_emails, phones=clean_phones, external_ids=clean_ext
            )
            if "tags" in changes:
                _segments_refresh(customer.pk)
    except IntegrityError:
        raise _identity_conflict() from None
    return customer


def _segments_refresh(*customer_ids: int) -> None:
    """Segments depend on tags, value and history: recompute these customers' after commit."""
    from bounceback.segments.services import segment_memberships_refresh_later

    segment_memberships_refresh_later(customer_ids=customer_ids)


def customers_refresh_lifetime_value(*, customer_ids: Sequence[int]) -> None:
    """Recompute lifetime value for these customers from their transactions.

    Call inside the transaction that changed their transactions, after the change.
    One UPDATE per 500 customers with a correlated SUM, so the database does the
    sums and no model objects or per-customer CASE WHEN (bulk_update) are built.
    """
    from django.db.models import DecimalField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    from bounceback.transactions.models import Transaction

    currency = settings.BOUNCEBACK_CURRENCY
    money = DecimalField(max_digits=14, decimal_places=2)
    total = (
        Transaction.objects.filter(customer_id=OuterRef("pk"), currency=currency)
        .counts_towards_value()
        .order_by()
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 500):
        Customer.objects.filter(pk__in=ids[start : start + 500]).update(
            lifetime_value=Coalesce(
                Subquery(total, output_field=money), Value(Decimal("0")), output_field=money
            ),
            lifetime_value_currency=currency,
        )
    _segments_refresh(*ids)
