from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from bounceback.sites.models import Site
from bounceback.transactions.models import Transaction
from bounceback.transactions.selectors import STAFF_SOURCE, transaction_find

_LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


def _now_to_the_minute() -> datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


def _datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL_MINUTE)


class TransactionForm(forms.Form):
    """A transaction entered by hand on the customer page."""

    kind = forms.ChoiceField(choices=Transaction.Kind.choices, initial=Transaction.Kind.ORDER)
    status = forms.ChoiceField(
        choices=Transaction.Status.choices, initial=Transaction.Status.COMPLETED
    )
    amount = forms.DecimalField(
        min_value=0,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    currency = forms.CharField(
        max_length=3,
        min_length=3,
        initial=settings.BOUNCEBACK_CURRENCY,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 3}),
        help_text="Three-letter code, e.g. USD.",
    )
    occurred_at = forms.DateTimeField(
        label="Occurred at",
        initial=_now_to_the_minute,
        widget=_datetime_input(),
        help_text="When it was bought or booked.",
    )
    scheduled_for = forms.DateTimeField(
        required=False,
        widget=_datetime_input(),
        help_text="When the service is delivered, if later.",
    )
    site = forms.CharField(
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"list": "site-codes", "autocomplete": "off"}),
        help_text="Site code; a new code adds a site.",
    )
    product = forms.CharField(required=False, max_length=200)
    external_id = forms.CharField(
        required=False,
        max_length=200,
        label="External id",
        help_text="Its order or booking number elsewhere, if any.",
    )

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def clean_external_id(self) -> str:
        external_id = str(self.cleaned_data["external_id"]).strip()
        if external_id:
            # Re-sending an external id updates that transaction (possibly another
            # customer's); from this form it is a mistake, so refuse it.
            existing = transaction_find(source=STAFF_SOURCE, external_id=external_id)
            if existing is not None:
                raise forms.ValidationError(
                    f"A transaction with external id {external_id} was already entered "
                    f"(for {existing.customer.name})."
                )
        return external_id

    def service_data(self, *, customer_id: int) -> dict[str, Any]:
        """The cleaned fields in the shape transaction_upsert takes."""
        data = dict(self.cleaned_data)
        return {
            "customer_id": customer_id,
            "kind": data["kind"],
            "status": data["status"],
            "amount": data["amount"],
            "currency": data["currency"],
            "occurred_at": data["occurred_at"],
            "scheduled_for": data.get("scheduled_for"),
            "site": data.get("site") or None,
            "product": data.get("product") or "",
            "external_id": data.get("external_id") or None,
        }


class TransactionFilterForm(forms.Form):
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        to_field_name="code",
        empty_label="All sites",
    )
    kind = forms.ChoiceField(choices=[("", "All kinds"), *Transaction.Kind.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Transaction.Status.choices], required=False
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def selector_arguments(self) -> dict[str, Any]:
        """Filters for transaction_list; dates are whole local days, both ends included."""
        data = self.cleaned_data if self.is_valid() else {}
        zone = timezone.get_current_timezone()
        start, end = data.get("date_from"), data.get("date_to")
        return {
            "site": data.get("site"),
            "kind": data.get("kind", ""),
            "status": data.get("status", ""),
            "occurred_from": datetime.combine(start, time.min, zone) if start else None,
            "occurred_before": (
                datetime.combine(end + timedelta(days=1), time.min, zone) if end else None
            ),
        }
